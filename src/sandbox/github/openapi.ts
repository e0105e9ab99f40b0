import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Checks the emulator's requests and responses against GitHub's published OpenAPI description
// (`@octokit/openapi`), so the emulator cannot drift into a GitHub of its own imagining. Only
// the subset of JSON Schema GitHub's description uses for these endpoints is implemented:
// $ref, type, nullable, required, properties, items, enum, allOf, anyOf, oneOf, maxLength.

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  nullable?: boolean;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  maxLength?: number;
}

interface MediaContent {
  content?: Record<string, { schema?: JsonSchema }>;
  $ref?: string;
}

interface Operation {
  responses?: Record<string, MediaContent>;
  requestBody?: MediaContent;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, MediaContent>; requestBodies?: Record<string, MediaContent> };
}

let document: OpenApiDocument | null | undefined;

/** GitHub's REST description, or null when `@octokit/openapi` is not installed (production). */
export function loadGitHubOpenApi(): OpenApiDocument | null {
  if (document !== undefined) return document;
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    document = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
  } catch {
    document = null;
  }
  return document;
}

export class OpenApiValidator {
  constructor(private readonly doc: OpenApiDocument) {}

  static load(): OpenApiValidator | null {
    const doc = loadGitHubOpenApi();
    return doc ? new OpenApiValidator(doc) : null;
  }

  hasOperation(method: string, pathTemplate: string): boolean {
    return this.doc.paths[pathTemplate]?.[method.toLowerCase()] !== undefined;
  }

  /** The JSON schema GitHub documents for this response, or undefined when it documents none. */
  responseSchema(method: string, pathTemplate: string, status: number): JsonSchema | undefined {
    const operation = this.doc.paths[pathTemplate]?.[method.toLowerCase()];
    const response = operation?.responses?.[String(status)];
    return response ? this.media(response)?.schema : undefined;
  }

  requestSchema(method: string, pathTemplate: string): JsonSchema | undefined {
    const body = this.doc.paths[pathTemplate]?.[method.toLowerCase()]?.requestBody;
    return body ? this.media(body)?.schema : undefined;
  }

  /** Problems with `body` as a `status` response of the operation; empty when it conforms. */
  validateResponse(method: string, pathTemplate: string, status: number, body: unknown): string[] {
    if (!this.hasOperation(method, pathTemplate)) return [`${method} ${pathTemplate} is not a GitHub REST operation`];
    const schema = this.responseSchema(method, pathTemplate, status);
    if (!schema) return [];
    return this.validate(schema, body, 'response');
  }

  validateRequest(method: string, pathTemplate: string, body: unknown): string[] {
    const schema = this.requestSchema(method, pathTemplate);
    return schema ? this.validate(schema, body, 'body') : [];
  }

  /** Validates `value` against a schema or a component name such as `pull-request`. */
  validate(schema: JsonSchema | string, value: unknown, path = '$'): string[] {
    const errors: string[] = [];
    const resolved = typeof schema === 'string' ? this.component(schema) : schema;
    this.check(resolved, value, path, errors);
    return errors;
  }

  component(name: string): JsonSchema {
    const schema = this.doc.components.schemas[name];
    if (!schema) throw new Error(`GitHub's OpenAPI description has no schema named ${name}`);
    return schema;
  }

  private media(entry: MediaContent): { schema?: JsonSchema } | undefined {
    let current = entry;
    for (let depth = 0; current.$ref && depth < 5; depth += 1) {
      const [, , kind, name] = current.$ref.split('/');
      const target = kind === 'responses' ? this.doc.components.responses[name ?? ''] : this.doc.components.requestBodies?.[name ?? ''];
      if (!target) return undefined;
      current = target;
    }
    return current.content?.['application/json'] ?? current.content?.['application/scim+json'];
  }

  private deref(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let depth = 0; current.$ref && depth < 20; depth += 1) {
      const name = current.$ref.replace('#/components/schemas/', '');
      current = this.component(name);
    }
    return current;
  }

  private accepts(schema: JsonSchema, value: unknown, path: string): boolean {
    const errors: string[] = [];
    this.check(schema, value, path, errors);
    return errors.length === 0;
  }

  private check(raw: JsonSchema, value: unknown, path: string, errors: string[]): void {
    const schema = this.deref(raw);
    if (value === null) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      const nullable =
        schema.nullable === true ||
        types.includes('null') ||
        (schema.enum?.includes(null) ?? false) ||
        [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].some((member) => this.accepts(member, null, path));
      if (!nullable) errors.push(`${path}: is null, schema does not allow null`);
      return;
    }
    if (value === undefined) {
      errors.push(`${path}: is missing`);
      return;
    }
    for (const member of schema.allOf ?? []) this.check(member, value, path, errors);
    const alternatives = schema.anyOf ?? schema.oneOf;
    // GitHub's `oneOf`s overlap (a simple user also matches an enterprise), so any match will do.
    if (alternatives && !alternatives.some((member) => this.accepts(member, value, path))) {
      const first: string[] = [];
      if (alternatives[0]) this.check(alternatives[0], value, path, first);
      errors.push(`${path}: matches none of ${alternatives.length} alternatives (first: ${first[0] ?? 'unknown'})`);
    }
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
    const effective = type ?? (schema.properties || schema.required ? 'object' : undefined);
    if (effective && !this.hasType(effective, value)) {
      errors.push(`${path}: expected ${effective}, got ${Array.isArray(value) ? 'array' : typeof value}`);
      return;
    }
    if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    // GitHub's limits are in characters (UTF-16 code units, as JavaScript counts them).
    if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) {
      errors.push(`${path}: only ${schema.maxLength} characters are allowed; ${value.length} were supplied`);
    }
    if (effective === 'object' && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        if (record[key] === undefined) errors.push(`${path}.${key}: required property is missing`);
      }
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        if (record[key] !== undefined) this.check(child, record[key], `${path}.${key}`, errors);
      }
    }
    if (effective === 'array' && Array.isArray(value) && schema.items) {
      value.forEach((item, index) => this.check(schema.items as JsonSchema, item, `${path}[${index}]`, errors));
    }
  }

  private hasType(type: string, value: unknown): boolean {
    switch (type) {
      case 'object':
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      case 'array':
        return Array.isArray(value);
      case 'integer':
        return Number.isInteger(value);
      case 'number':
        return typeof value === 'number';
      case 'string':
        return typeof value === 'string';
      case 'boolean':
        return typeof value === 'boolean';
      default:
        return true;
    }
  }
}

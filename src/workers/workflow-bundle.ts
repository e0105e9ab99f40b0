import { fileURLToPath } from 'node:url';

/** The workflow entry point the bundler starts from (all workflow types are exported there). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

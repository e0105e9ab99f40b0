// Connection options from temporal.yaml and the environment: the dev server, a self-hosted
// cluster (mTLS) or Temporal Cloud (API key), chosen by configuration alone.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, type Config } from '../config/load.js';

type Env = Record<string, string | undefined>;

function readFile(root: string, file: string, key: string): Buffer {
  try {
    return readFileSync(resolve(root, file));
  } catch {
    throw new ConfigError(`Cannot read ${file} (temporal.yaml connection.tls.${key} or its environment override): check the path and permissions.`);
  }
}

export function connectionOptions(config: Config, env: Env = process.env): ConnectionOptions & NativeConnectionOptions {
  const { connection } = config.temporal;
  const apiKey = env[connection.apiKeyEnv];
  const tls = connection.tls
    ? {
        serverNameOverride: connection.tls.serverName,
        serverRootCACertificate: connection.tls.caFile ? readFile(config.root, connection.tls.caFile, 'caFile') : undefined,
        clientCertPair: { crt: readFile(config.root, connection.tls.certFile, 'certFile'), key: readFile(config.root, connection.tls.keyFile, 'keyFile') },
      }
    : apiKey
      ? true
      : undefined;
  return { address: connection.address, tls, ...(apiKey ? { apiKey } : {}) } as ConnectionOptions & NativeConnectionOptions;
}

export function describeTarget(config: Config): string {
  return `${config.temporal.connection.address} (namespace ${config.temporal.connection.namespace})`;
}

export async function connectClient(config: Config, env: Env = process.env): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...connectionOptions(config, env), connectTimeout: 5_000 });
    return new Client({ connection, namespace: config.temporal.connection.namespace });
  } catch (err) {
    throw new ConfigError(`Cannot reach Temporal at ${describeTarget(config)}: ${(err as Error).message}. Start it (npm run dev starts a dev server) or set TEMPORAL_ADDRESS.`);
  }
}

export async function connectNative(config: Config, env: Env = process.env): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(config, env));
  } catch (err) {
    throw new ConfigError(`Cannot reach Temporal at ${describeTarget(config)}: ${(err as Error).message}. Start it (npm run dev starts a dev server) or set TEMPORAL_ADDRESS.`);
  }
}

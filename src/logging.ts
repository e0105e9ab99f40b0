// One logger for every process. JSON lines (pino) so a host's log shipper can read them;
// known secret-bearing fields are censored before anything is written.
import { pino, type Logger } from 'pino';

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'conveyor',
      level: options.level ?? process.env.CONVEYOR_LOG_LEVEL ?? 'info',
      redact: { paths: ['*.apiKey', '*.token', '*.secret', '*.secrets', '*.authorization', 'headers.authorization', 'env'], censor: '[redacted]' },
    },
    options.destination ?? process.stderr,
  );
}

/**
 * Structured JSON logs, one line per event. Callers pass chosen fields only: never headers, bodies, keys or
 * tokens. `LOG_LEVEL=silent` quiets tests.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function threshold(): number {
  const configured = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return ORDER[configured as Level] ?? ORDER.info;
}

function write(level: Level, message: string, fields: Record<string, unknown>) {
  if (ORDER[level] < threshold()) return;
  const line = JSON.stringify({ level, time: new Date().toISOString(), message, ...fields });
  if (level === 'error' || level === 'warn') process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

export const log = {
  debug: (message: string, fields: Record<string, unknown> = {}) => write('debug', message, fields),
  info: (message: string, fields: Record<string, unknown> = {}) => write('info', message, fields),
  warn: (message: string, fields: Record<string, unknown> = {}) => write('warn', message, fields),
  error: (message: string, fields: Record<string, unknown> = {}) => write('error', message, fields),
};

/** Error details safe to log: name, message and stack, never the request. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error_name: error.name, error_message: error.message, stack: error.stack };
  return { error_message: String(error) };
}

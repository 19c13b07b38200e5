// A small structured logger: JSON lines by default (one object per line, for log pipelines), or
// human-readable text. Loggers are values passed down, with bound fields (`child`). Never log
// secret values: callers log names and reasons, not data.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  write?: (line: string) => void;
}

function errorFields(v: unknown): unknown {
  if (v instanceof Error) {
    const e: Record<string, unknown> = { name: v.name, message: v.message };
    if ('code' in v && v.code !== undefined) e.code = v.code;
    return e;
  }
  return v;
}

export function createLogger(opts: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = opts.level ?? 'info';
  const format = opts.format ?? 'json';
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[lvl] < rank[level]) return;
    const all: LogFields = { ...bound, ...fields };
    for (const [k, v] of Object.entries(all)) all[k] = errorFields(v);
    if (format === 'json') {
      write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...all })}\n`);
    } else {
      const rest = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${rest ? ` ${rest}` : ''}\n`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...bound, ...fields }),
    enabled: (l) => rank[l] >= rank[level],
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ write: () => {} });

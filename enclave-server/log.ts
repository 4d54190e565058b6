/**
 * Server logging: levels, one line per event on stderr, key=value fields.
 *
 * Rule (tested with a canary string in test/integration): nothing that came out of a decrypted
 * frame — prompts, answers, message contents — and no key material is ever passed to the logger.
 * Fields are restricted to numbers, booleans and short identifiers; strings are truncated and
 * stripped of control characters so a log line can never be forged from the outside.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  readonly level: LogLevel;
  error(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const MAX_FIELD = 160;

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  base: LogFields = {},
  now: () => Date = () => new Date(),
): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const emit = (lv: LogLevel, event: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lv) > rank) return;
    let line = `${now().toISOString()} ${lv.toUpperCase().padEnd(5)} ${clean(event)}`;
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      if (v === undefined) continue;
      line += ` ${clean(k)}=${typeof v === 'string' ? quote(v) : String(v)}`;
    }
    write(line + '\n');
  };
  return {
    level,
    error: (e, f) => emit('error', e, f),
    warn: (e, f) => emit('warn', e, f),
    info: (e, f) => emit('info', e, f),
    debug: (e, f) => emit('debug', e, f),
    child: (f) => createLogger(level, write, { ...base, ...f }, now),
  };
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, MAX_FIELD);
}

function quote(s: string): string {
  const c = clean(s);
  return /^[\w.:/@+-]+$/.test(c) ? c : JSON.stringify(c);
}

/** A logger that drops everything (library use, benchmarks). */
export const silentLogger: Logger = createLogger('error', () => {});

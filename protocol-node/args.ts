/**
 * Command-line flags for every `teechat` and `teechat-server` command: node:util `parseArgs`
 * (strict: unknown options and missing values are errors; a value that begins with `-` must be
 * written `--flag=value`, never taken silently from the next argument), with its errors turned
 * into the one `UsageError` that names the option. Commands exit 2 on a UsageError.
 *
 * It lives in protocol-node/ because both client/ (the `teechat` CLI) and enclave-server/
 * (`teechat-server`) parse flags and may import only protocol/ and protocol-node/.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit status of every command on a usage error. */
export const EXIT_USAGE = 2;

/** A command-line usage error (bad, unknown or missing option or argument): exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The option it is about, without dashes ('' when it is about the arguments as a whole). */
  readonly option: string;
  constructor(message: string, option = '') {
    super(message);
    this.option = option;
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * The one line every command prints on stderr for a usage error: `COMMAND: message`, pointing at
 * `--help` when the message does not already (the help itself goes to stdout with `--help`).
 */
export function usageLine(command: string, e: UsageError | string): string {
  const msg = typeof e === 'string' ? e : e.message;
  return `${command}: ${msg}${/--help/.test(msg) ? '' : ` (see ${command} --help)`}\n`;
}

/**
 * Parses `argv` against `options` (positionals allowed unless `allowPositionals: false`).
 * Throws UsageError.
 */
export function parseCli<const O extends OptionSpec, const P extends boolean = true>(
  argv: readonly string[],
  options: O,
  allowPositionals?: P,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: P; strict: true }>> {
  try {
    return parseArgs({
      args: [...argv],
      options,
      allowPositionals: (allowPositionals ?? true) as P,
      strict: true,
    });
  } catch (e) {
    throw usageError(e);
  }
}

/** A parseArgs error as a usage error naming the option: "--name: …". */
export function usageError(e: unknown): UsageError {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  const opt = /'(--?[A-Za-z0-9-]+)/.exec(msg)?.[1] ?? '';
  const name = opt.replace(/^-+/, '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`${opt}: unknown option (see --help)`, name);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(msg))
        return new UsageError(`${opt}: expected no value, got one`, name);
      return new UsageError(
        /ambiguous/.test(msg)
          ? `${opt}: expected a value, got an option-like argument (write ${opt}=VALUE for a value that begins with '-')`
          : `${opt}: expected a value, got nothing`,
        name,
      );
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(msg)?.[1] ?? '';
      return new UsageError(
        `arguments: expected options only (--name), got ${JSON.stringify(arg)}`,
      );
    }
    default:
      return new UsageError(`arguments: ${msg}`, name);
  }
}

/** A number option in [min, max], or a usage error naming it and the value. */
export function numberIn(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(
      `--${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(raw)}`,
      name,
    );
  return n;
}

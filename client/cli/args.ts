/**
 * Command-line flags for every `teechat` and `teechat-server` command: node:util `parseArgs`
 * (strict: unknown options and missing values are errors; a value that begins with `-` must be
 * written `--flag=value`, never taken silently from the next argument), with its errors turned
 * into one typed usage error that names the option.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ProtocolError } from '../../protocol/errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` against `options`; positionals allowed. Throws ProtocolError('usage'). */
export function parseCli<const O extends OptionSpec>(
  argv: readonly string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(e);
  }
}

/** A parseArgs error as a usage error naming the option: "--name: …". */
export function usageError(e: unknown): ProtocolError {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  const opt = /'(--?[A-Za-z0-9-]+)/.exec(msg)?.[1] ?? '';
  const name = opt.replace(/^-+/, '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ProtocolError('usage', `${opt}: unknown option (see --help)`, name);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(msg))
        return new ProtocolError('usage', `${opt}: expected no value, got one`, name);
      return new ProtocolError(
        'usage',
        /ambiguous/.test(msg)
          ? `${opt}: expected a value, got an option-like argument (write ${opt}=VALUE for a value that begins with '-')`
          : `${opt}: expected a value, got nothing`,
        name,
      );
    default:
      return new ProtocolError('usage', `arguments: ${msg}`, name === '' ? undefined : name);
  }
}

/** A number option in [min, max], or a usage error naming it and the value. */
export function numberIn(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new ProtocolError(
      'usage',
      `--${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(raw)}`,
      name,
    );
  return n;
}

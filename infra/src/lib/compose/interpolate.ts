import { isObject, Json } from '../yaml-files';

/**
 * Compose's variable interpolation over every string value (keys are left alone): `$$` is a
 * literal `$`; `$VAR`, `${VAR}`; `${VAR:-default}` / `${VAR-default}` when unset-or-empty /
 * unset; `${VAR:?message}` / `${VAR?message}` fail likewise; `${VAR:+alt}` / `${VAR+alt}`.
 * Failures are collected as `path: message` lines instead of stopping at the first.
 */
export function interpolate(
  value: Json,
  env: Readonly<Record<string, string | undefined>>,
): { value: Json; errors: string[] } {
  const errors: string[] = [];
  const visit = (item: Json, at: string): Json => {
    if (typeof item === 'string')
      return interpolateString(item, env, (message) => errors.push(`${at}: ${message}`));
    if (Array.isArray(item)) return item.map((v, i) => visit(v, `${at}[${i}]`));
    if (isObject(item))
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, visit(v, at ? `${at}.${k}` : k)]));
    return item;
  };
  return { value: visit(value, ''), errors };
}

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function interpolateString(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  fail: (message: string) => void,
): string {
  return text.replace(PATTERN, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const value = env[name];
    const missing = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    switch (op?.replace(':', '')) {
      case '-':
        return missing ? (arg ?? '') : (value as string);
      case '?':
        if (missing) fail(`${name} is required: ${arg || 'not set'}`);
        return missing ? '' : (value as string);
      case '+':
        return missing ? '' : (arg ?? '');
      default:
        return value ?? '';
    }
  });
}

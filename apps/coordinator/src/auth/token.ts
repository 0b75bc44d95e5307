import { timingSafeEqual } from 'crypto';

/** Outcome of checking an `Authorization` header against the API token. */
export type TokenCheck = { ok: true } | { ok: false; message: string };

/** Checks `Authorization: Bearer <token>` in constant time; the failure message says what is wrong. */
export function checkBearer(header: string | undefined, expected: string): TokenCheck {
  if (!header) {
    return {
      ok: false,
      message: 'missing Authorization header: send "Authorization: Bearer <FORGE_API_TOKEN>"',
    };
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) return { ok: false, message: 'malformed Authorization header: expected "Bearer <token>"' };
  const given = Buffer.from(match[1]);
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    return { ok: false, message: 'invalid API token' };
  }
  return { ok: true };
}

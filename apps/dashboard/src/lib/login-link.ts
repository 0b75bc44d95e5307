/**
 * The login link of `forge cluster up`: `<dashboard>/#token=<token>`. The fragment never reaches a
 * server; the dashboard takes the token from it, saves it, and replaces the address (no history entry
 * keeps it either).
 */

/** The token of a login-link hash, or undefined for any other hash. */
export function loginLinkToken(hash: string): string | undefined {
  const match = /^#token=([^&]+)$/.exec(hash);
  if (!match) return undefined;
  try {
    const token = decodeURIComponent(match[1]).trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/**
 * If the page was opened by a login link: saves its token with `save` and replaces the address with
 * the runs page. Returns whether it was one.
 */
export function acceptLoginLink(
  save: (token: string) => void,
  location: Pick<Location, 'hash' | 'pathname' | 'search'>,
  history: Pick<History, 'replaceState'>,
): boolean {
  const token = loginLinkToken(location.hash);
  if (token === undefined) return false;
  save(token);
  history.replaceState(null, '', `${location.pathname}${location.search}#/runs`);
  return true;
}

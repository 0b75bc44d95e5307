/**
 * The dashboard link `forge cluster up` prints that logs the browser in: the token rides in the URL
 * fragment (`#token=…`), which browsers never send to a server — so it reaches no access log or
 * proxy — and the dashboard stores it and removes it from the address bar and the history at once.
 */

/** The login link of the dashboard at `dashboardUrl` for `token`. */
export function loginUrl(dashboardUrl: string, token: string): string {
  return `${dashboardUrl.replace(/#.*$/, '')}#token=${encodeURIComponent(token)}`;
}

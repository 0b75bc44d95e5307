/** The current route from `location.hash`, updated on every hash change. */
import { useEffect, useState } from 'react';
import { parseRoute, type Route } from '../lib/routes';

/** The route of the page now shown. */
export function useHashRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

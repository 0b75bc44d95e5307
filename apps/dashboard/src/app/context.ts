/** The API client and the live event stream, shared with every page through React context. */
import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client';
import type { LiveEvents } from '../api/events';

/** What the pages get from the app shell. */
export interface Services {
  api: ApiClient;
  live: LiveEvents;
}

/** Context holding the {@link Services}; provided by App. */
export const ServicesContext = createContext<Services | null>(null);

/** The services of the app shell (throws outside it, which is a programming error). */
export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices must be called inside <ServicesContext.Provider>');
  return services;
}

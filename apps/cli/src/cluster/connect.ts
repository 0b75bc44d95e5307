/**
 * Which coordinator a command talks to: FORGE_API_URL (with FORGE_API_TOKEN) when set, else the local
 * cluster that `forge cluster up` started here (its address and token from cluster.json).
 */
import { ForgeError } from '@llm-forge/gpt';
import { CoordinatorApi } from './api-client';
import { readClusterState } from './cluster-state';

/** A coordinator to call, and what is known of the local cluster it belongs to. */
export interface CoordinatorTarget {
  api: CoordinatorApi;
  /** The dashboard of the local cluster (absent with FORGE_API_URL). */
  dashboardUrl?: string;
  /** Workers of the local cluster (absent with FORGE_API_URL). */
  workers?: number;
}

/** The coordinator of FORGE_API_URL or of the local cluster; throws, with a hint, when there is none. */
export function connectCoordinator(): CoordinatorTarget {
  const url = process.env.FORGE_API_URL;
  if (url) return { api: new CoordinatorApi(url.replace(/\/$/, ''), process.env.FORGE_API_TOKEN) };
  const state = readClusterState();
  if (!state) {
    throw new ForgeError(
      'no coordinator to talk to',
      'start one with forge cluster up, or set FORGE_API_URL and FORGE_API_TOKEN',
    );
  }
  return {
    api: new CoordinatorApi(state.apiUrl, state.token),
    dashboardUrl: state.dashboardUrl,
    workers: state.workers.length,
  };
}

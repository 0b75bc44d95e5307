/**
 * The shell: takes the API token from a login link or asks for it once (kept in localStorage; asked
 * again after a 401), builds the API client and the live event stream, and shows the page of the URL
 * hash.
 */
import { useEffect, useMemo, useState, type ReactElement } from 'react';
import { ApiClient } from '../api/client';
import { LiveEvents } from '../api/events';
import { TokenDialog } from '../components/TokenDialog';
import { useHashRoute } from '../hooks/useHashRoute';
import { acceptLoginLink } from '../lib/login-link';
import { href, type Route } from '../lib/routes';
import { TokenStore } from '../lib/token-store';
import { ComparePage } from '../pages/ComparePage';
import { FinetunePage } from '../pages/FinetunePage';
import { FinetunesPage } from '../pages/FinetunesPage';
import { GeneratePage } from '../pages/GeneratePage';
import { NewFinetunePage } from '../pages/NewFinetunePage';
import { NewRunPage } from '../pages/NewRunPage';
import { RunPage } from '../pages/RunPage';
import { RunsPage } from '../pages/RunsPage';
import { WorkersPage } from '../pages/WorkersPage';
import { ServicesContext, type Services } from './context';
import { LiveIndicator } from './LiveIndicator';

const tokens = new TokenStore(typeof localStorage === 'undefined' ? undefined : localStorage);

/** The whole dashboard. */
export function App(): ReactElement {
  const [token, setToken] = useState<string | null>(() => {
    // a login link of `forge cluster up` (#token=…) logs in at once and leaves no token in the address
    acceptLoginLink((t) => tokens.set(t), window.location, window.history);
    return tokens.get();
  });
  const [rejected, setRejected] = useState<string>();

  const services = useMemo<Services | null>(() => {
    if (token === null) return null;
    const api = new ApiClient({
      getToken: () => token,
      onUnauthorized: () => {
        tokens.clear();
        setRejected('The coordinator rejected the token (401). Paste the current one.');
        setToken(null);
      },
    });
    return { api, live: new LiveEvents(() => api.eventsUrl()) };
  }, [token]);

  useEffect(() => {
    if (!services) return;
    services.live.connect();
    return () => services.live.disconnect();
  }, [services]);

  if (!services)
    return (
      <main className="centered">
        <TokenDialog
          reason={rejected}
          onSubmit={(t) => {
            tokens.set(t);
            setRejected(undefined);
            setToken(tokens.get());
          }}
        />
      </main>
    );
  return (
    <ServicesContext.Provider value={services}>
      <Shell
        onSignOut={() => {
          tokens.clear();
          setToken(null);
        }}
      />
    </ServicesContext.Provider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }): ReactElement {
  const route = useHashRoute();
  const section = route.page.includes('finetune')
    ? 'finetunes'
    : route.page === 'generate' || route.page === 'workers'
      ? route.page
      : 'runs';
  const link = (r: Route, label: string, name: string): ReactElement => (
    <a href={href(r)} className={section === name ? 'active' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <nav className="topbar">
        <span className="brand">LLM Forge</span>
        {link({ page: 'runs' }, 'Runs', 'runs')}
        {link({ page: 'finetunes' }, 'Finetunes', 'finetunes')}
        {link({ page: 'generate' }, 'Generate', 'generate')}
        {link({ page: 'workers' }, 'Workers', 'workers')}
        <span className="spacer" />
        <LiveIndicator />
        <button className="link" onClick={onSignOut}>
          Change token
        </button>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }): ReactElement {
  switch (route.page) {
    case 'runs':
      return <RunsPage />;
    case 'new-run':
      return <NewRunPage />;
    case 'run':
      return <RunPage key={route.id} id={route.id} />;
    case 'compare':
      return <ComparePage key={route.query} query={route.query} />;
    case 'finetunes':
      return <FinetunesPage />;
    case 'new-finetune':
      return <NewFinetunePage />;
    case 'finetune':
      return <FinetunePage key={route.id} id={route.id} />;
    case 'generate':
      return <GeneratePage checkpoint={route.checkpoint} />;
    case 'workers':
      return <WorkersPage />;
    case 'not-found':
      return (
        <p className="empty">
          No page at <code>#{route.path}</code>. <a href={href({ page: 'runs' })}>Back to the runs</a>
        </p>
      );
  }
}

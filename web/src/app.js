// The console's frame: who is signed in decides between the login page and the pages;
// the header carries the navigation the user's roles allow and the connection state.
import { html, useEffect, useRef } from './html.js';
import { useSession, logout, loadSession } from './session.js';
import { startEvents, stopEvents, useConnection } from './stream.js';
import { matchRoute, navigate, useLocation } from './router.js';
import { LoginPage, PasswordPage } from './pages/login.js';
import BoardPage from './pages/board.js';
import AlarmPage from './pages/alarm.js';
import OutPage from './pages/out.js';
import WorkerDayPage from './pages/worker_day.js';
import PlanPage from './pages/plan.js';
import PeoplePage from './pages/people.js';
import PolicyPage from './pages/policy.js';

const ALARM_ROLES = ['operator', 'senior_manager', 'lsms', 'admin', 'manager'];
const EVERYONE = null;

// path, page, nav label (null: not in the nav), roles that see it (null: everyone).
const ROUTES = [
    { path: '/board', page: BoardPage, label: 'Alarms', roles: ALARM_ROLES },
    { path: '/alarms/:id', page: AlarmPage, label: null, roles: ALARM_ROLES },
    { path: '/out', page: OutPage, label: 'Who is out', roles: EVERYONE },
    { path: '/workers/:id/day', page: WorkerDayPage, label: null, roles: EVERYONE },
    { path: '/plan', page: PlanPage, label: 'Plan a visit', roles: ['worker', 'manager', 'senior_manager', 'admin'] },
    { path: '/people', page: PeoplePage, label: 'People', roles: ['admin'] },
    { path: '/policy', page: PolicyPage, label: 'Policies', roles: ['admin'] },
];

function allowed(session, route) {
    return !route.roles || session.has(...route.roles);
}

function homePath(session) {
    return session.has(...ALARM_ROLES) ? '/board' : '/out';
}

function ConnectionBanner() {
    const state = useConnection();
    const text = {
        live: 'Live',
        connecting: 'Reconnecting to the server…',
        offline: 'Offline: cannot reach the server. The board is not live; it reconnects by itself.',
    }[state];
    return html`<div class=${`connection connection-${state}`} data-testid="connection" data-state=${state}
        role=${state === 'live' ? 'status' : 'alert'}>${text}</div>`;
}

function Header({ session, path }) {
    const links = ROUTES.filter((r) => r.label && allowed(session, r));
    return html`<header class="top">
        <a class="skip" href="#main">Skip to content</a>
        <a class="brand" href=${homePath(session)}>notalone</a>
        <nav aria-label="Main">
            <ul>${links.map((r) => html`<li><a href=${r.path}
                aria-current=${path.startsWith(r.path) ? 'page' : undefined}>${r.label}</a></li>`)}</ul>
        </nav>
        <div class="who">
            <span>${session.user.display_name}<span class="muted"> · ${session.organisation.name}</span></span>
            <button type="button" class="link" onClick=${() => logout()}>Sign out</button>
        </div>
        <${ConnectionBanner} />
    </header>`;
}

function NotFound() {
    return html`<section><h1 tabindex="-1">Page not found</h1>
        <p>This page does not exist or is not for your role.</p></section>`;
}

// Moves focus to the new page's heading, so a screen reader announces the change.
function useFocusOnNavigate(path) {
    const first = useRef(true);
    useEffect(() => {
        if (first.current) {
            first.current = false;
            return;
        }
        const h = document.querySelector('main h1');
        if (h) h.focus();
    }, [path]);
}

function Pages({ session }) {
    const path = useLocation().split('?')[0];
    useFocusOnNavigate(path);
    useEffect(() => {
        startEvents();
        return stopEvents;
    }, []);
    useEffect(() => {
        if (path === '/' || path === '/login') navigate(homePath(session), { replace: true });
    }, [path]);
    let body = html`<${NotFound} />`;
    for (const route of ROUTES) {
        const params = matchRoute(route.path, path);
        if (params && allowed(session, route)) {
            const Page = route.page;
            body = html`<${Page} params=${params} key=${path} />`;
            break;
        }
    }
    return html`<${Header} session=${session} path=${path} />
        <main id="main">${body}</main>`;
}

function Unreachable({ message }) {
    return html`<main id="main" class="centre"><section class="card">
        <h1>notalone</h1>
        <p role="alert" class="error">${message || 'Cannot reach the server.'}</p>
        <p>The console tries again every few seconds.</p>
        <button type="button" onClick=${loadSession}>Try now</button>
    </section></main>`;
}

export function App() {
    const session = useSession();
    useEffect(() => {
        loadSession();
    }, []);
    switch (session.state) {
    case 'loading':
        return html`<main id="main" class="centre"><p role="status">Loading…</p></main>`;
    case 'unreachable':
        return html`<${Unreachable} message=${session.message} />`;
    case 'signed_out':
        return html`<${LoginPage} expired=${session.reason === 'expired'} />`;
    case 'password':
        return html`<${PasswordPage} />`;
    default:
        return html`<${Pages} session=${session} />`;
    }
}

// Pages are addressed by real paths (/board, /alarms/12) kept with the History API; the
// server answers every such path with index.html, so a reload or a shared link works.
import { createStore } from './html.js';
import { useStore } from './store_hook.js';

const locationStore = createStore(window.location.pathname + window.location.search);

export function navigate(path, { replace = false } = {}) {
    if (path === locationStore.get()) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    locationStore.set(path);
}

window.addEventListener('popstate', () => {
    locationStore.set(window.location.pathname + window.location.search);
});

// Links inside the console change page without a reload; modified clicks (new tab),
// downloads and links elsewhere are left to the browser.
document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
});

// Matches a pattern such as "/alarms/:id" against a path; the params, or null.
export function matchRoute(pattern, path) {
    const want = pattern.split('/');
    const got = path.split('?')[0].split('/');
    if (want.length !== got.length) return null;
    const params = {};
    for (let i = 0; i < want.length; i++) {
        if (want[i].startsWith(':')) {
            if (!got[i]) return null;
            params[want[i].slice(1)] = decodeURIComponent(got[i]);
        } else if (want[i] !== got[i]) {
            return null;
        }
    }
    return params;
}

// The current path (with its query string).
export function useLocation() {
    return useStore(locationStore);
}

// A query parameter of the current location, or null.
export function queryParam(name) {
    return new URLSearchParams(window.location.search).get(name);
}

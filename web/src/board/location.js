// Where the worker is: only with their consent (the server sends no coordinates without
// it). A map when the server has map tiles configured, otherwise coordinates with a link
// to OpenStreetMap; both with the positions as text, which a map cannot give everyone.
import { html, useEffect, useRef, useState } from '../html.js';
import { fmtTime, words } from '../format.js';
import { drawTrail } from '../map.js';
import { useConsoleSettings } from './alarm_data.js';

// Where a position came from, as the operator reads it.
const SOURCES = { device: 'device', amber: 'amber alert', red: 'red alert', checkin: 'check-in', dc09: 'alarm device', alarm: 'the alarm' };

function sourceText(source) {
    return SOURCES[source] || words(source);
}

function atMs(p) {
    return new Date(p.at).getTime() || 0;
}

// The trail (oldest first) with the alarm's own position and the last amber alert's in
// time order, without repeats.
function positionsOf(pack) {
    const all = [...(pack.trail || [])];
    if (pack.position) all.push({ ...pack.position, source: 'alarm' });
    const amber = pack.last_amber && pack.last_amber.position;
    if (amber) all.push({ ...amber, source: 'amber' });
    const seen = new Set();
    return all.sort((a, b) => atMs(a) - atMs(b)).filter((p) => {
        const key = `${p.latitude},${p.longitude},${p.at}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

export function coords(p) {
    const acc = p.accuracy_m != null ? ` (±${Math.round(p.accuracy_m)} m)` : '';
    return `${p.latitude.toFixed(5)}, ${p.longitude.toFixed(5)}${acc}`;
}

export function osmUrl(p) {
    const lat = p.latitude.toFixed(6);
    const lon = p.longitude.toFixed(6);
    return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
}

function TrailMap({ settings, points }) {
    const box = useRef(null);
    const [failed, setFailed] = useState(false);
    const last = points[points.length - 1];
    const key = `${points.length}:${last.at}:${last.latitude}:${last.longitude}`;
    useEffect(() => {
        let remove = null;
        let live = true;
        const labelled = points.map((p) => ({ ...p, label: `${fmtTime(p.at, { seconds: true })} ${sourceText(p.source)}` }));
        drawTrail(box.current, { tiles: settings.map_tiles, attribution: settings.map_attribution, points: labelled })
            .then((fn) => (live ? (remove = fn) : fn()), () => live && setFailed(true));
        return () => {
            live = false;
            if (remove) remove();
        };
    }, [key]);
    if (failed) return html`<p role="alert" class="error">The map could not be loaded; the positions are listed below.</p>`;
    return html`<div class="board-map" ref=${box} role="region" aria-label="Map of the worker's positions"></div>`;
}

function TrailTable({ points }) {
    return html`<details class="board-trail">
        <summary>All ${points.length} position${points.length > 1 ? 's' : ''}, newest first</summary>
        <table class="stack">
            <thead><tr><th scope="col">Time</th><th scope="col">Coordinates</th><th scope="col">From</th></tr></thead>
            <tbody>${[...points].reverse().map((p) => html`<tr>
                <td data-label="Time">${fmtTime(p.at, { seconds: true })}</td>
                <td data-label="Coordinates">${coords(p)}</td>
                <td data-label="From">${sourceText(p.source)}</td>
            </tr>`)}</tbody>
        </table>
    </details>`;
}

export function Location({ pack }) {
    const settings = useConsoleSettings();
    if (!pack.location_shared)
        return html`<p class="notice">The worker has not shared their location.</p>`;
    const points = positionsOf(pack);
    if (!points.length) return html`<p>The worker shares their location, but no position has been received.</p>`;
    const last = points[points.length - 1];
    const withMap = settings && settings.map_tiles;
    return html`<div class="board-location">
        <p><span class="label">Last known position:</span> <span class="board-coords">${coords(last)}</span>
            <span class="muted"> at ${fmtTime(last.at, { seconds: true })} (${sourceText(last.source)})</span>
            ${!withMap && html` <a href=${osmUrl(last)} target="_blank" rel="noopener noreferrer">Open in map</a>`}</p>
        ${withMap && html`<${TrailMap} settings=${settings} points=${points} />`}
        <${TrailTable} points=${points} />
    </div>`;
}

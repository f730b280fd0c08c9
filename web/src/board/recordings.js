// Recordings and files attached to an alarm. Everyone who sees the alarm sees their
// integrity proof (size, SHA-256); only the LSMS may hear or download them (§9.13.1), so
// for anyone else the page never asks the server for a file at all.
import { html } from '../html.js';
import { fmtTime } from '../format.js';

function size(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function Item({ file, canHear }) {
    const src = `/api/v1/evidence/${file.id}`;
    const what = file.kind === 'audio' ? 'Recording' : 'File';
    return html`<li class="board-evidence">
        <p><strong>${what} ${file.id}</strong>, ${size(file.size)}
            <span class="muted"> attached at ${fmtTime(file.uploaded_at, { seconds: true })}</span></p>
        ${canHear && file.kind === 'audio' && html`<audio controls preload="none" src=${src}
            aria-label=${`Recording ${file.id}`}></audio>`}
        ${canHear && file.kind !== 'audio' && html`<a href=${src} download>Download file ${file.id}</a>`}
        <p class="board-hash"><span class="muted">SHA-256 </span><code>${file.sha256}</code></p>
    </li>`;
}

export function Recordings({ evidence, canHear }) {
    const files = evidence || [];
    return html`${!canHear && html`<p>Recordings are available to the LSMS.</p>`}
        ${files.length
            ? html`<ul class="board-evidence-list">${files.map((f) => html`<${Item} key=${f.id} file=${f} canHear=${canHear} />`)}</ul>`
            : html`<p class="muted">Nothing is attached to this alarm.</p>`}`;
}

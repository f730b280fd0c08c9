// One escalation policy being edited: 1-8 levels, each a contact, a limit in minutes
// (60-86400 s on the server) and, for a named user or channel, its target. The server's
// refusal names a level's field ("levels[1].limit"): that control shows it.
import { html, useState } from '../html.js';
import { api } from '../api.js';
import { byName } from '../out/directory.js';
import { controlProps, Field, FormError, useAction } from './form.js';

export const CONTACTS = [
    ['buddy', 'Buddy (one who accepted)'],
    ['line_manager', 'Line manager'],
    ['senior_manager', 'Senior managers'],
    ['user', 'A named user'],
    ['channel', 'An organisation channel'],
    ['operators', 'Operators (alarm queue)'],
];
const MAX_LEVELS = 8;
let nextKey = 1;

function fromServer(levels) {
    return levels.map((l) => ({
        key: nextKey++, contact: l.contact, minutes: String(l.limit / 60),
        user_id: l.user_id ? String(l.user_id) : '', channel_id: l.channel_id ? String(l.channel_id) : '',
    }));
}

function toServer(levels) {
    return levels.map((l) => {
        const out = { contact: l.contact, limit: Math.round(Number(l.minutes) * 60) };
        if (l.contact === 'user') out.user_id = Number(l.user_id) || 0;
        if (l.contact === 'channel') out.channel_id = Number(l.channel_id) || 0;
        return out;
    });
}

function Level({ prefix, index, level, count, users, channels, err, onChange, onMove, onRemove }) {
    const id = (name) => `${prefix}-level-${index}-${name}`;
    const set = (name) => (e) => onChange({ ...level, [name]: e.currentTarget.value });
    return html`<fieldset class="policy-level">
        <legend>Level ${index + 1}</legend>
        <${Field} id=${id('contact')} label="Contact" error=${err(id('contact'))}>
            <select ...${controlProps(id('contact'), err(id('contact')))} value=${level.contact} onChange=${set('contact')}>
                ${CONTACTS.map(([v, label]) => html`<option key=${v} value=${v}>${label}</option>`)}
            </select>
        <//>
        <${Field} id=${id('limit')} label="Limit (minutes)" error=${err(id('limit'))}>
            <input ...${controlProps(id('limit'), err(id('limit')))} type="number" min="1" max="1440" step="any"
                required value=${level.minutes} onInput=${set('minutes')} />
        <//>
        ${level.contact === 'user' && html`<${Field} id=${id('user_id')} label="User" error=${err(id('user_id'))}>
            <select ...${controlProps(id('user_id'), err(id('user_id')))} required value=${level.user_id} onChange=${set('user_id')}>
                <option value="">Choose a user</option>
                ${users.map((u) => html`<option key=${u.id} value=${String(u.id)}>${u.display_name}</option>`)}
            </select>
        <//>`}
        ${level.contact === 'channel' && html`<${Field} id=${id('channel_id')} label="Channel"
            hint=${channels.length ? null : 'The organisation has no channel yet.'} error=${err(id('channel_id'))}>
            <select ...${controlProps(id('channel_id'), err(id('channel_id')))} required value=${level.channel_id} onChange=${set('channel_id')}>
                <option value="">Choose a channel</option>
                ${channels.map((c) => html`<option key=${c.id} value=${String(c.id)}>${c.name} (${c.kind})</option>`)}
            </select>
        <//>`}
        <div class="actions policy-level-actions">
            <button type="button" class="secondary" disabled=${index === 0} onClick=${() => onMove(-1)}
                aria-label=${`Move level ${index + 1} up`}>Up</button>
            <button type="button" class="secondary" disabled=${index === count - 1} onClick=${() => onMove(1)}
                aria-label=${`Move level ${index + 1} down`}>Down</button>
            <button type="button" class="secondary" disabled=${count === 1} onClick=${onRemove}
                aria-label=${`Remove level ${index + 1}`}>Remove</button>
        </div>
    </fieldset>`;
}

// levels: the server's; path: where to PUT; onSaved(policy), onRemove (overrides only).
export function PolicyEditor({ prefix, title, levels: initial, path, dir, channels, saveLabel, onSaved, extra }) {
    const [levels, setLevels] = useState(() => fromServer(initial));
    const [saved, setSaved] = useState(null);
    const action = useAction((f) => {
        const m = /^levels\[(\d+)\]\.(\w+)$/.exec(f);
        return m ? `${prefix}-level-${m[1]}-${m[2]}` : null;
    });
    const users = [...dir.users.values()].filter((u) => !u.disabled).sort(byName);
    const update = (i, l) => setLevels(levels.map((x, j) => (j === i ? l : x)));
    function move(i, by) {
        const next = [...levels];
        [next[i], next[i + by]] = [next[i + by], next[i]];
        setLevels(next);
    }
    async function save(e) {
        e.preventDefault();
        setSaved(null);
        const policy = await action.run(() => api('PUT', path, { levels: toServer(levels) }));
        if (policy) {
            setLevels(fromServer(policy.levels));
            setSaved('Policy saved.');
            if (onSaved) onSaved(policy);
        }
    }
    const labels = {};
    levels.forEach((_, i) => {
        for (const [k, name] of [['contact', 'contact'], ['limit', 'limit'], ['user_id', 'user'], ['channel_id', 'channel']])
            labels[`${prefix}-level-${i}-${k}`] = `Level ${i + 1}, ${name}`;
    });
    return html`<form class="card policy-form" onSubmit=${save} aria-label=${title}>
        <${FormError} action=${action} labels=${labels} />
        ${saved && html`<p role="status" class="ok">${saved}</p>`}
        <ol class="policy-levels">${levels.map((l, i) => html`<li key=${l.key}><${Level} prefix=${prefix} index=${i} level=${l}
            count=${levels.length} users=${users} channels=${channels} err=${action.errorFor}
            onChange=${(next) => update(i, next)} onMove=${(by) => move(i, by)}
            onRemove=${() => setLevels(levels.filter((_, j) => j !== i))} /></li>`)}</ol>
        <div class="actions">
            <button type="button" class="secondary" disabled=${levels.length >= MAX_LEVELS}
                onClick=${() => setLevels([...levels, { key: nextKey++, contact: 'senior_manager', minutes: '15', user_id: '', channel_id: '' }])}>Add level</button>
            <button type="submit" disabled=${action.busy}>${saveLabel}</button>
            ${extra}
        </div>
    </form>`;
}

// Escalation policies, for administrators: the organisation's (or the built-in default
// until one is saved) and each team's override. A worker's case follows their first
// team's override, else the organisation's policy.
import '../styles/pages.css';
import { html, useEffect, useState } from '../html.js';
import { api, ApiError, apiList, errorText } from '../api.js';
import { useDirectory } from '../out/directory.js';
import { PolicyEditor } from '../admin/policy_editor.js';

async function readPolicies(teams) {
    const [org, channels] = await Promise.all([
        api('GET', '/api/v1/escalation-policy'),
        apiList('/api/v1/channels', { max: 1000 }),
    ]);
    const overrides = new Map();
    await Promise.all(teams.map(async (t) => {
        try {
            overrides.set(t.id, await api('GET', `/api/v1/teams/${t.id}/escalation-policy`));
        } catch (err) {
            if (!(err instanceof ApiError) || err.status !== 404) throw err;
        }
    }));
    // Only the organisation's own channels can be a level, not a person's.
    return { org, overrides, channels: channels.filter((c) => c.user_id == null) };
}

function TeamOverride({ team, policy, org, dir, channels, onChange }) {
    const [drafting, setDrafting] = useState(false);
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    async function remove() {
        setBusy(true);
        setError(null);
        try {
            await api('DELETE', `/api/v1/teams/${team.id}/escalation-policy`);
            setDrafting(false);
            onChange(team.id, null);
        } catch (err) {
            setError(errorText(err));
        } finally {
            setBusy(false);
        }
    }
    const heading = html`<h3 id=${`policy-team-${team.id}`}>${team.name}</h3>`;
    if (!policy && !drafting) {
        return html`<div class="policy-team">${heading}
            <p class="muted">Uses the organisation's policy.</p>
            <button type="button" class="secondary" onClick=${() => setDrafting(true)}
                aria-label=${`Add an override for ${team.name}`}>Add an override</button>
        </div>`;
    }
    const removeButton = html`<button type="button" class="secondary" disabled=${busy} onClick=${policy ? remove : () => setDrafting(false)}>
        ${policy ? 'Remove override' : 'Cancel'}</button>`;
    return html`<div class="policy-team">${heading}
        ${error && html`<p role="alert" class="error">${error}</p>`}
        ${!policy && html`<p class="hint">Starts as a copy of the organisation's policy; nothing changes until saved.</p>`}
        <${PolicyEditor} key=${policy ? 'saved' : 'draft'} prefix=${`team-${team.id}`} title=${`Override for ${team.name}`}
            levels=${(policy || org).levels} path=${`/api/v1/teams/${team.id}/escalation-policy`} dir=${dir}
            channels=${channels} saveLabel="Save override" onSaved=${(p) => onChange(team.id, p)} extra=${removeButton} />
    </div>`;
}

export default function PolicyPage() {
    const dir = useDirectory({ force: true });
    const [data, setData] = useState(null);
    const [error, setError] = useState(null);
    const ready = dir.loadedAt > 0;
    useEffect(() => {
        if (!ready || data) return;
        readPolicies(dir.teams).then(setData, (err) => setError(errorText(err)));
    }, [ready]);
    function setOverride(teamId, policy) {
        const overrides = new Map(data.overrides);
        if (policy) overrides.set(teamId, policy);
        else overrides.delete(teamId);
        setData({ ...data, overrides });
    }
    return html`<section class="policy">
        <h1 tabindex="-1">Escalation policies</h1>
        <p class="hint">When a worker misses a deadline, each level's contacts are told in turn; a level
            not resolved within its limit passes the case to the next. At the last level they are told
            again each limit until someone records the outcome.</p>
        ${(error || dir.error) && html`<p role="alert" class="error">${error || errorText(dir.error)}</p>`}
        ${!data && !error && html`<p role="status">Loading…</p>`}
        ${data && html`
            <h2 id="policy-org">Organisation</h2>
            ${data.org.default && html`<p class="notice">No policy is saved: the built-in default below applies.</p>`}
            <${PolicyEditor} prefix="org" title="Organisation's policy" levels=${data.org.levels}
                path="/api/v1/escalation-policy" dir=${dir} channels=${data.channels}
                saveLabel="Save organisation policy" onSaved=${(p) => setData({ ...data, org: { ...p, default: false } })} />
            <h2>Team overrides</h2>
            ${dir.teams.length === 0 && html`<p class="muted">No teams yet.</p>`}
            ${dir.teams.map((t) => html`<${TeamOverride} key=${t.id} team=${t} policy=${data.overrides.get(t.id)}
                org=${data.org} dir=${dir} channels=${data.channels} onChange=${setOverride} />`)}`}
    </section>`;
}

// Placeholder until the page is built.
import { html } from '../html.js';

export default function Page() {
    return html`<section><h1 tabindex="-1">out</h1><p>Not built yet.</p></section>`;
}

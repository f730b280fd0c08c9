// The console's entry point: styles, then the app into #app.
import './styles.css';
import { html, render } from './html.js';
import { App } from './app.js';

render(html`<${App} />`, document.getElementById('app'));

// One place for the view library: Preact with htm's tagged templates (no JSX, no compile
// step of our own). Pages import html and the hooks from here.
import { h, render } from 'preact';
import htm from 'htm';

export { render };
export { useState, useEffect, useRef, useMemo, useCallback, useLayoutEffect } from 'preact/hooks';
export const html = htm.bind(h);

// A value shared by several components: subscribe to changes with useStore(store).
export function createStore(initial) {
    let value = initial;
    const listeners = new Set();
    return {
        get: () => value,
        set(next) {
            value = typeof next === 'function' ? next(value) : next;
            for (const fn of [...listeners]) fn(value);
        },
        subscribe(fn) {
            listeners.add(fn);
            return () => listeners.delete(fn);
        },
    };
}

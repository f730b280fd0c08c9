import { useEffect, useState } from 'preact/hooks';

// The current value of a store from html.js's createStore, re-rendering on each change.
export function useStore(store) {
    const [value, setValue] = useState(store.get());
    useEffect(() => {
        setValue(store.get());
        return store.subscribe(setValue);
    }, [store]);
    return value;
}

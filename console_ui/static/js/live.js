// Live messages for the service-desk views: the console's one WebSocket publishes each message under a
// topic ('order', 'alert', 'resync'), and a view subscribes while it is on screen.

import { useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';

export function createTopics() {
  const subscribers = new Map();
  return {
    publish(topic, payload) {
      for (const handler of subscribers.get(topic) || []) handler(payload);
    },
    subscribe(topic, handler) {
      if (!subscribers.has(topic)) subscribers.set(topic, new Set());
      subscribers.get(topic).add(handler);
      return () => subscribers.get(topic).delete(handler);
    },
  };
}

/** Calls the latest `handler` for every message on `topic` while the component is mounted. */
export function useTopic(topics, topic, handler) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => topics.subscribe(topic, (payload) => latest.current(payload)), [topics, topic]);
}

/** `value`, but only once it has stopped changing for `ms` (for search boxes). */
export function useDebounced(value, ms = 250) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

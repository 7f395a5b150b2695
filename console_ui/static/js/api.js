// Talking to the server: JSON requests with the session cookie, and the live feed over /ws/console.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.detail = body?.detail;
    this.reason = body?.reason || null; // the specific case, for the console to say in its language
    this.params = body?.params || {};
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/**
 * The console's live connection. Calls onMessage for every pushed message (a `resync` first, after each
 * (re)connect) and onStatus(true/false) as the connection comes and goes; reconnects with backoff.
 */
export class LiveFeed {
  constructor({ onMessage, onStatus, onUnauthenticated }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onUnauthenticated = onUnauthenticated;
    this.retryDelay = 500;
    this.stopped = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws/console`);
    this.socket = socket;
    socket.onopen = () => {
      this.retryDelay = 500;
      this.onStatus(true);
      this.pinger = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('ping'), 20000);
    };
    socket.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      clearInterval(this.pinger);
      this.onStatus(false);
      if (this.stopped) return;
      if (event.code === 4401) {
        this.onUnauthenticated();
        return;
      }
      setTimeout(() => this.connect(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    };
  }

  close() {
    this.stopped = true;
    this.socket?.close();
  }
}

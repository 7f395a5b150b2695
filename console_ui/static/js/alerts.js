// The audible alert for unacknowledged P1 calls: a short beep every 1.5 s, louder and two-tone once
// a call has escalated. Generated with Web Audio, so there is no sound file to ship.

let context = null;
let timer = null;
let level = 'none';
let muted = false;

function beep(frequency, gain, startAt, duration = 0.18) {
  const oscillator = context.createOscillator();
  const volume = context.createGain();
  oscillator.type = 'square';
  oscillator.frequency.value = frequency;
  volume.gain.value = gain;
  oscillator.connect(volume).connect(context.destination);
  oscillator.start(startAt);
  oscillator.stop(startAt + duration);
}

function ring() {
  if (muted || level === 'none' || !context) return;
  const now = context.currentTime;
  if (level === 'escalated') {
    beep(1320, 0.9, now);
    beep(880, 0.9, now + 0.25);
  } else {
    beep(880, 0.25, now);
  }
}

/** Call from a user gesture (the login click): browsers only allow sound after one. */
export function unlockSound() {
  if (!context && window.AudioContext) context = new AudioContext();
  context?.resume();
}

/** 'none', 'p1' or 'escalated': what the console should sound like now. */
export function setAlertLevel(next) {
  document.body.dataset.alert = next;
  if (next === level) return;
  level = next;
  clearInterval(timer);
  timer = null;
  if (level !== 'none') {
    ring();
    timer = setInterval(ring, 1500);
  }
}

export function setMuted(value) {
  muted = value;
}

// The phone's ring while a call is offered to this agent: two short tones every 2 s (muted like the alarm).
let ringTimer = null;

function ringPhone() {
  if (muted || !context) return;
  const now = context.currentTime;
  beep(660, 0.2, now, 0.35);
  beep(520, 0.2, now + 0.45, 0.35);
}

/** Ring (true) or stop ringing (false) for an offered phone call. */
export function setPhoneRinging(on) {
  document.body.dataset.phone = on ? 'ringing' : 'idle';
  if (on === (ringTimer !== null)) return;
  clearInterval(ringTimer);
  ringTimer = null;
  if (on) {
    ringPhone();
    ringTimer = setInterval(ringPhone, 2000);
  }
}

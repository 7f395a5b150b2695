// The provider's job page (/p/<token>): the job, accept / decline, and for the provider holding a service
// order: the elder, navigation, check-in with the phone's position, items, a photo, the elder's code and
// check-out. Chinese by default, English on request, one language at a time.

const TEXTS = {
  zh: {
    title: '12349 派单', language: 'English',
    service: '服务', window: '时间', area: '地点', distance: '距您约', km: '公里', now: '立即', code: '单号',
    accept: '接单', decline: '拒绝', loading: '加载中…',
    offered: '请确认是否接单。接单后可看到老人的姓名、电话和地址。',
    gone: '此工单已不再需要您（已由其他服务商接单、已取消或已过时），无需前往，谢谢。',
    declined: '您已拒绝此工单，谢谢。',
    elder_heading: '服务对象', elder: '老人', phone: '电话', address: '地址', navigate: '导航', amap: '高德地图', baidu: '百度地图',
    emergency: '紧急救援：请尽快到达。到达和完成请按短信回复。',
    step_checkin: '1. 到达签到', checkin: '到达签到（获取位置）', checked_in: '已签到',
    from_home: '距老人家 {m} 米', far: '距离较远，已标记待核查', no_position: '未能获取位置，已标记待核查',
    locating: '正在获取位置…',
    step_items: '2. 服务项目', save_items: '保存服务项目', items_saved: '服务项目已保存', quantity: '数量',
    unit_price: '{price} 元/{unit}',
    step_photo: '3. 服务照片', photo: '选择或拍摄照片（JPEG/PNG/WebP）', photo_saved: '照片已上传',
    step_code: '4. 老人确认码', code_sent: '确认码已短信发给老人（或其家属），请老人读给您。',
    code_not_sent: '老人没有登记电话，无法发送确认码，将由回访确认。',
    code_label: '6 位确认码', confirm: '提交确认码', confirmed: '老人已确认', confirmed_follow_up: '回访已确认',
    step_checkout: '5. 完成签退', checkout: '完成签退', checked_out: '已签退',
    evidenced: '服务凭证已齐全，谢谢！',
    errors: {
      wrong_code: '确认码不正确，还可尝试 {attempts_left} 次。', code_locked: '错误次数过多，确认码已锁定，将由回访确认。',
      not_an_image: '只能上传 JPEG、PNG 或 WebP 图片。', payload_too_large: '照片太大，请换一张较小的照片。',
      check_in_first: '请先到达签到。', no_longer_needed: '此工单已不再需要您。', item_not_listed: '该项目不在您的价目表中。',
      not_a_service_order: '紧急救援工单无需签到。', link_invalid: '链接无效。', link_expired: '链接已过期。',
      network: '网络异常，请稍后再试。', error: '操作失败，请稍后再试。',
    },
    services: {
      emergency_rescue: '紧急救援', meal_assistance: '助餐', cleaning: '保洁', bathing: '助浴', medical_escort: '陪同就医',
      mobility_assistance: '助行', housekeeping: '家政', repair: '维修', errands: '代办跑腿', health_care: '保健康复',
      nursing: '护理', companionship: '陪伴', medicine_delivery: '送药',
    },
  },
  en: {
    title: '12349 job', language: '中文',
    service: 'Service', window: 'When', area: 'Where', distance: 'About', km: 'km from you', now: 'now', code: 'Job',
    accept: 'Accept', decline: 'Decline', loading: 'Loading…',
    offered: 'Please accept or decline. Once you accept you see the elder\'s name, phone and address.',
    gone: 'This job is no longer needed from you (taken by another provider, cancelled or past its time). No need to go. Thank you.',
    declined: 'You declined this job. Thank you.',
    elder_heading: 'Who and where', elder: 'Elder', phone: 'Phone', address: 'Address', navigate: 'Navigate', amap: 'Amap', baidu: 'Baidu Maps',
    emergency: 'Emergency: please go at once. Reply by SMS on arrival and when done.',
    step_checkin: '1. Check in', checkin: 'Check in (share position)', checked_in: 'Checked in',
    from_home: '{m} m from the home', far: 'Far from the home: flagged for review', no_position: 'No position: flagged for review',
    locating: 'Getting your position…',
    step_items: '2. Service items', save_items: 'Save items', items_saved: 'Items saved', quantity: 'Quantity',
    unit_price: '¥{price} per {unit}',
    step_photo: '3. Photo', photo: 'Choose or take a photo (JPEG/PNG/WebP)', photo_saved: 'Photo uploaded',
    step_code: '4. Elder\'s code', code_sent: 'A code was texted to the elder (or a relative); ask them to read it to you.',
    code_not_sent: 'The elder has no phone on record: no code was sent; the follow-up call will confirm.',
    code_label: '6-digit code', confirm: 'Submit code', confirmed: 'Confirmed by the elder', confirmed_follow_up: 'Confirmed by the follow-up call',
    step_checkout: '5. Check out', checkout: 'Check out', checked_out: 'Checked out',
    evidenced: 'The service is fully evidenced. Thank you!',
    errors: {
      wrong_code: 'Wrong code: {attempts_left} tries left.', code_locked: 'Too many wrong codes: locked; the follow-up call will confirm.',
      not_an_image: 'Only JPEG, PNG or WebP images.', payload_too_large: 'The photo is too large; choose a smaller one.',
      check_in_first: 'Check in first.', no_longer_needed: 'This job is no longer needed from you.', item_not_listed: 'That item is not on your price list.',
      not_a_service_order: 'Emergency jobs have no check-in.', link_invalid: 'This link is not valid.', link_expired: 'This link has expired.',
      network: 'Network problem; try again shortly.', error: 'That did not work; try again shortly.',
    },
    services: {
      emergency_rescue: 'emergency rescue', meal_assistance: 'meal assistance', cleaning: 'cleaning', bathing: 'bathing',
      medical_escort: 'medical escort', mobility_assistance: 'mobility assistance', housekeeping: 'housekeeping', repair: 'repair',
      errands: 'errands', health_care: 'health care', nursing: 'nursing', companionship: 'companionship', medicine_delivery: 'medicine delivery',
    },
  },
};

const root = document.getElementById('job');
const base = `/p/${root.dataset.token}`;
const state = { lang: localStorage.getItem('jobpage.lang') === 'en' ? 'en' : 'zh', job: null, message: null, busy: false };

const t = () => TEXTS[state.lang];
const fill = (text, params = {}) => text.replace(/\{(\w+)\}/g, (_, key) => String(params[key] ?? ''));

function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'text') element.textContent = value;
    else element.setAttribute(key, value === true ? '' : value);
  }
  element.append(...children.flat().filter((child) => child != null && child !== false));
  return element;
}

function localParts(iso) {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  return Object.fromEntries(format.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
}

function formatWindow(job) {
  // As the offer SMS says it, in Shanghai time: "12-06 09:00–11:00".
  if (!job.window_start) return t().now;
  const start = localParts(job.window_start);
  const end = localParts(job.window_end);
  return `${start.month}-${start.day} ${start.hour}:${start.minute}–${end.hour}:${end.minute}`;
}

async function send(method, path, body, raw = false) {
  state.busy = true;
  render();
  try {
    const init = { method, headers: {} };
    if (raw) {
      init.body = body;
      init.headers['Content-Type'] = body.type || 'application/octet-stream';
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(`${base}${path}`, init);
    const data = await response.json().catch(() => ({}));
    if (response.ok) {
      state.job = data;
      return data;
    }
    const key = data.reason || data.code;
    state.message = { kind: 'error', text: fill(t().errors[key] || t().errors.error, data.params || {}) };
    return null;
  } catch {
    state.message = { kind: 'error', text: t().errors.network };
    return null;
  } finally {
    state.busy = false;
    render();
  }
}

async function act(method, path, body, done, raw = false) {
  state.message = null;
  const result = await send(method, path, body, raw);
  if (result && done) {
    state.message = { kind: 'ok', text: typeof done === 'function' ? done(result) : t()[done] };
    render();
  }
}

function checkIn() {
  state.message = { kind: 'info', text: t().locating };
  render();
  const post = (body) => act('POST', '/check-in', body, 'checked_in');
  if (!navigator.geolocation) return post({});
  navigator.geolocation.getCurrentPosition(
    (position) => post({ lon: position.coords.longitude, lat: position.coords.latitude, accuracy_m: position.coords.accuracy }),
    () => post({}),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
  );
}

function jobCard(job) {
  const text = t();
  return h('section', { 'aria-labelledby': 'job-heading' },
    h('h2', { id: 'job-heading', text: `${text.code} ${job.code}` }),
    h('dl', {},
      h('dt', { text: text.service }), h('dd', { 'data-testid': 'service', text: text.services[job.service_type] || job.service_type }),
      h('dt', { text: text.window }), h('dd', { 'data-testid': 'window', text: formatWindow(job) }),
      h('dt', { text: text.area }), h('dd', { text: `${job.district} ${job.street}` }),
      h('dt', { text: text.distance }), h('dd', { text: `${(job.distance_m / 1000).toFixed(1)} ${text.km}` }),
    ));
}

function offeredPart() {
  const text = t();
  return h('section', {},
    h('p', { class: 'notice', text: text.offered }),
    h('div', { class: 'actions' },
      h('button', { class: 'primary', disabled: state.busy, onclick: () => act('POST', '/accept'), text: text.accept }),
      h('button', { class: 'danger', disabled: state.busy, onclick: () => act('POST', '/decline'), text: text.decline }),
    ));
}

function detailsPart(details) {
  const text = t();
  return h('section', { 'aria-labelledby': 'elder-heading' },
    h('h2', { id: 'elder-heading', text: text.elder_heading }),
    h('dl', {},
      h('dt', { text: text.elder }), h('dd', { 'data-testid': 'elder-name', text: details.elder_name }),
      h('dt', { text: text.phone }), h('dd', {}, details.phone ? h('a', { href: `tel:${details.phone}`, text: details.phone }) : '-'),
      h('dt', { text: text.address }), h('dd', { text: details.address }),
    ),
    h('div', { class: 'actions', role: 'group', 'aria-label': text.navigate },
      h('a', { class: 'button', href: details.navigation.amap, target: '_blank', rel: 'noopener noreferrer', text: text.amap }),
      h('a', { class: 'button', href: details.navigation.baidu, target: '_blank', rel: 'noopener noreferrer', text: text.baidu }),
    ));
}

function step(title, done, ...body) {
  const id = `step-${title.replace(/\W+/g, '-')}`;
  return h('section', { class: `step${done ? ' done' : ''}`, 'aria-labelledby': id }, h('h2', { id, text: title }), ...body);
}

function checkinStep(evidence) {
  const text = t();
  if (!evidence.checked_in) {
    return step(text.step_checkin, false,
      h('button', { class: 'primary wide', disabled: state.busy, onclick: checkIn, text: text.checkin }));
  }
  const where = evidence.distance_m == null ? null : fill(text.from_home, { m: evidence.distance_m });
  return step(text.step_checkin, true,
    h('p', { 'data-testid': 'checkin', text: [text.checked_in, where].filter(Boolean).join('，') }),
    evidence.flag ? h('p', { class: 'notice warn', 'data-testid': 'flag', text: text[evidence.flag] }) : null);
}

function itemsStep(job) {
  const text = t();
  const chosen = new Map(job.evidence.items.map((line) => [line.item, line.quantity]));
  const inputs = job.price_items.map((item, index) => {
    const id = `item-${index}`;
    const price = fill(text.unit_price, { price: (item.unit_price_fen / 100).toFixed(2), unit: item.unit });
    return {
      item: item.item,
      row: h('div', { class: 'item' },
        h('label', { for: id }, h('span', { text: item.item }), h('span', { class: 'muted', text: price })),
        h('input', { id, type: 'number', min: '0', max: '99', inputmode: 'numeric', value: String(chosen.get(item.item) || 0), 'aria-label': `${item.item} ${text.quantity}` })),
    };
  });
  const save = () => {
    const items = inputs
      .map(({ item, row }) => ({ item, quantity: Number(row.querySelector('input').value) || 0 }))
      .filter((line) => line.quantity > 0);
    act('PUT', '/items', { items }, 'items_saved');
  };
  return step(text.step_items, job.evidence.items.length > 0,
    ...inputs.map(({ row }) => row),
    h('button', { class: 'wide', disabled: state.busy || !job.evidence.checked_in, onclick: save, text: text.save_items }));
}

function photoStep(evidence) {
  const text = t();
  const upload = (event) => {
    const file = event.target.files[0];
    if (file) act('POST', '/photo', file, 'photo_saved', true);
  };
  return step(text.step_photo, evidence.photo,
    h('label', {}, h('span', { text: text.photo }),
      h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', capture: 'environment', disabled: state.busy || !evidence.checked_in, onchange: upload })));
}

function codeStep(evidence) {
  const text = t();
  if (evidence.confirmed) {
    return step(text.step_code, true, h('p', { 'data-testid': 'confirmed', text: evidence.confirmed_by === 'follow_up' ? text.confirmed_follow_up : text.confirmed }));
  }
  const input = h('input', { id: 'code', class: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}' });
  const submit = () => act('POST', '/code', { code: input.value.trim() }, 'confirmed');
  return step(text.step_code, false,
    evidence.checked_in ? h('p', { class: 'muted', text: evidence.code_sent ? text.code_sent : text.code_not_sent }) : null,
    h('label', { for: 'code', text: text.code_label }), input,
    h('button', { class: 'wide', disabled: state.busy || !evidence.code_sent, onclick: submit, text: text.confirm }));
}

function checkoutStep(evidence) {
  const text = t();
  if (evidence.checked_out) return step(text.step_checkout, true, h('p', { text: text.checked_out }));
  return step(text.step_checkout, false,
    h('button', { class: 'primary wide', disabled: state.busy || !evidence.checked_in, onclick: () => act('POST', '/check-out', undefined, 'checked_out'), text: text.checkout }));
}

function heldPart(job) {
  const text = t();
  const parts = [detailsPart(job.details)];
  if (!job.service_order) return [...parts, h('p', { class: 'notice', text: text.emergency })];
  const evidence = job.evidence;
  if (evidence.evidenced) parts.push(h('p', { class: 'notice ok', role: 'status', 'data-testid': 'evidenced', text: text.evidenced }));
  parts.push(checkinStep(evidence), itemsStep(job), photoStep(evidence), codeStep(evidence), checkoutStep(evidence));
  return parts;
}

function body() {
  const text = t();
  const job = state.job;
  if (!job) return [h('p', { class: 'notice', text: text.loading })];
  const parts = [jobCard(job)];
  if (job.status === 'offered') parts.push(offeredPart());
  else if (job.status === 'held') parts.push(...heldPart(job));
  else parts.push(h('p', { class: 'notice', 'data-testid': 'gone', text: job.offer_state === 'declined' ? text.declined : text.gone }));
  return parts;
}

function render() {
  const text = t();
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = text.title;
  const toggle = () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('jobpage.lang', state.lang);
    state.message = null;
    render();
  };
  const message = state.message
    ? h('p', { class: `notice ${state.message.kind}`, role: state.message.kind === 'error' ? 'alert' : 'status', 'data-testid': 'message', text: state.message.text })
    : null;
  root.replaceChildren(
    h('header', {},
      h('h1', { text: text.title }),
      h('button', { class: 'lang', lang: state.lang === 'zh' ? 'en' : 'zh-CN', onclick: toggle, text: text.language })),
    ...[message, ...body()].filter(Boolean),
  );
}

render();
send('GET', '/job');

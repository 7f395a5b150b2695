// Console texts in Chinese (default) and English, and time formatting in Asia/Shanghai.

const ZH = {
  title: '12349 为老服务呼叫中心',
  login: '登录', logout: '退出', username: '用户名', password: '密码',
  login_failed: '用户名或密码错误', login_throttled: '尝试次数过多，请稍后再试',
  language: 'English', live: '实时', reconnecting: '重新连接中…',
  queue: '警情队列', no_calls: '当前没有待处理的呼叫', select_call: '从左侧选择一个呼叫',
  sound_on: '声音：开', sound_off: '声音：关',
  opened: '发起', waiting: '已等待', left: '剩余', overdue: '超时', escalated: '已升级',
  handled_by: '处理人', unclaimed: '未认领',
  profile: '老人档案', age: '岁', phone: '电话', address: '住址', community: '社区',
  living_alone: '独居', empty_nest: '空巢', conditions: '疾病', medications: '用药', allergies: '过敏',
  ability: '能力等级', blood_type: '血型', none: '无',
  contacts: '紧急联系人（按呼叫顺序）', notify: '通知', notified: '已通知',
  events: '最近设备事件', timeline: '处置记录', map: '位置地图',
  map_alarm: '报警位置', map_home: '家', map_safe_area: '安全区域', map_no_tiles: '未配置地图瓦片：仅显示位置',
  acknowledge: '确认', claim: '认领', take_over: '接管', dispatch: '派单', on_scene: '已到达现场',
  resolve: '已解决', close: '关闭', false_alarm: '误报', cancel: '取消',
  add_note: '添加备注', note_placeholder: '记录处置情况…', save: '保存',
  service_type: '服务类型', outcome: '结果', confirm: '确定', back: '返回',
  claimed_by_other: '该呼叫正由 {name} 处理',
  supervisor_alert: '有P1呼叫超时未确认，需主管介入',
  agents_alert: 'P1呼叫未在规定时间内确认！',
  error: '操作失败',
  dispatch_panel: '派单进度', candidates: '候选服务商（按距离排序）', excluded: '未派原因', within_circle: '15分钟圈内',
  minutes: '分钟', handoff: '转120', handoff_summary: '120交接摘要（请向120口述）', sms: '短信', calls: '警情',
  sms_title: '短信记录', outbox_only: '仅看发件箱（未配置短信网关时待人工处理）', enter_reply: '录入服务商回复',
  reply_from: '服务商手机号', reply_body: '回复内容，如“接 4821”', submit: '提交', direction: { outbound: '发出', inbound: '收到' },
  job_state: { offering: '派单中', assigned: '已接单', completed: '已完成', exhausted: '无人接单', cancelled: '已取消' },
  offer_state: {
    offered: '待回复', accepted: '已接单', arrived: '已到达', done: '已完成', declined: '已拒绝', expired: '超时未回复',
    undeliverable: '短信未送达', withdrawn: '已撤回',
  },
  exclusion: { inactive: '非营业状态', service_not_offered: '不提供该服务', at_capacity: '已满负荷', closed: '非营业时间', outside_area: '不在服务范围' },
  purpose: { offer: '派单', confirm: '接单确认', withdraw: '撤单', contact_alert: '通知联系人', handoff: '转120', help: '回复帮助', reply: '回复' },
  sms_status: {
    outbox: '发件箱', pending: '待发送', sending: '发送中', queued: '已提交', sent: '已发出', delivered: '已送达',
    undelivered: '未送达', failed: '失败', received: '已收到',
  },
  priority: { P1: 'P1 紧急', P2: 'P2 高', P3: 'P3 中', P4: 'P4 低' },
  category: {
    sos: 'SOS求救', fall: '跌倒', vitals: '体征异常', geofence_exit: '离开安全区域', device_silent: '设备失联',
    low_battery: '电量低', device_removed: '手表摘下', service_request: '服务请求', enquiry: '咨询', complaint: '投诉',
  },
  state: {
    new: '新警情', acknowledged: '已确认', dispatched: '已派单', on_scene: '已到场', resolved: '已解决',
    closed: '已关闭', cancelled: '已取消', false_alarm: '误报',
  },
  source: { device_alarm: '设备报警', inbound_phone: '来电', agent: '坐席创建' },
  sex: { male: '男', female: '女' },
  ability_level: ['能力完好', '轻度失能', '中度失能', '重度失能', '完全失能'],
  contact_kind: { relative: '亲属', community_worker: '助老员', doctor: '医生', neighbour: '邻居', other: '其他' },
  event_type: {
    sos: 'SOS', fall: '跌倒', alarm: '报警', removed: '摘下', low_battery: '电量低', geofence_exit: '出安全区',
    geofence_enter: '进安全区', power_cut: '断电', vitals: '体征', position: '定位', heartbeat: '心跳',
    media: '录音/照片', silent: '失联',
  },
  entry: {
    opened: '开启呼叫', alarm: '新报警并入', state: '状态变更', claimed: '认领', note: '备注', notify: '通知联系人',
    dispatch: '发起派单', escalated: '升级', offer: '发出派单', offer_expired: '派单超时', offer_declined: '服务商拒单',
    offer_accepted: '服务商接单', offer_undeliverable: '派单短信失败', provider_arrived: '服务商到达', provider_done: '服务完成',
    dispatch_failed: '派单失败', contact_alert: '短信通知联系人', contact_reached: '联系人已收到', contact_failed: '联系人短信失败',
    handoff_120: '转120',
  },
  outcomes: {
    resolved_by_phone: '电话处置完毕', ambulance_120: '已转120', provider_served: '服务商已上门处置',
    family_handled: '家属已处置', hospitalised: '已送医', other: '其他',
  },
  service: {
    emergency_rescue: '紧急救援', meal_assistance: '助餐', cleaning: '保洁', bathing: '助浴', medical_escort: '陪同就医',
    mobility_assistance: '助行', housekeeping: '家政', repair: '维修', errands: '代办跑腿', health_care: '保健康复',
    nursing: '护理', companionship: '陪伴', medicine_delivery: '送药',
  },
};

const EN = {
  title: '12349 Elder Service Call Centre',
  login: 'Log in', logout: 'Log out', username: 'Username', password: 'Password',
  login_failed: 'Wrong username or password', login_throttled: 'Too many attempts, try again later',
  language: '中文', live: 'Live', reconnecting: 'Reconnecting…',
  queue: 'Call queue', no_calls: 'No open calls', select_call: 'Select a call on the left',
  sound_on: 'Sound: on', sound_off: 'Sound: off',
  opened: 'Opened', waiting: 'Waiting', left: 'left', overdue: 'overdue', escalated: 'Escalated',
  handled_by: 'Handled by', unclaimed: 'Unclaimed',
  profile: 'Elder profile', age: 'y', phone: 'Phone', address: 'Address', community: 'Community',
  living_alone: 'Lives alone', empty_nest: 'Empty nest', conditions: 'Conditions', medications: 'Medications',
  allergies: 'Allergies', ability: 'Ability level', blood_type: 'Blood type', none: 'none',
  contacts: 'Contacts (in call order)', notify: 'Notify', notified: 'Notified',
  events: 'Recent device events', timeline: 'Timeline', map: 'Map',
  map_alarm: 'Alarm position', map_home: 'Home', map_safe_area: 'Safe area', map_no_tiles: 'No map tiles configured: positions only',
  acknowledge: 'Acknowledge', claim: 'Claim', take_over: 'Take over', dispatch: 'Dispatch', on_scene: 'On scene',
  resolve: 'Resolve', close: 'Close', false_alarm: 'False alarm', cancel: 'Cancel',
  add_note: 'Add note', note_placeholder: 'What was done…', save: 'Save',
  service_type: 'Service type', outcome: 'Outcome', confirm: 'OK', back: 'Back',
  claimed_by_other: '{name} is handling this call',
  supervisor_alert: 'A P1 call is still unacknowledged: supervisor needed',
  agents_alert: 'A P1 call was not acknowledged in time!',
  error: 'Failed',
  dispatch_panel: 'Dispatch', candidates: 'Candidates (nearest first)', excluded: 'Not offered because', within_circle: 'within 15 min',
  minutes: 'min', handoff: 'Hand to 120', handoff_summary: '120 hand-off summary (read it out)', sms: 'SMS', calls: 'Calls',
  sms_title: 'Text messages', outbox_only: 'Outbox only (messages waiting for an agent when no SMS gateway is set up)',
  enter_reply: "Enter a provider's reply", reply_from: "Provider's phone", reply_body: 'Reply, e.g. "Y 4821"', submit: 'Submit',
  direction: { outbound: 'out', inbound: 'in' },
  job_state: { offering: 'Offering', assigned: 'Assigned', completed: 'Completed', exhausted: 'Nobody accepted', cancelled: 'Cancelled' },
  offer_state: {
    offered: 'Waiting', accepted: 'Accepted', arrived: 'Arrived', done: 'Done', declined: 'Declined', expired: 'No answer',
    undeliverable: 'SMS not delivered', withdrawn: 'Withdrawn',
  },
  exclusion: { inactive: 'not active', service_not_offered: 'does not offer it', at_capacity: 'at capacity', closed: 'closed now', outside_area: 'outside its area' },
  purpose: { offer: 'offer', confirm: 'confirmation', withdraw: 'withdrawal', contact_alert: 'contact alert', handoff: '120 hand-off', help: 'help', reply: 'reply' },
  sms_status: {
    outbox: 'outbox', pending: 'pending', sending: 'sending', queued: 'queued', sent: 'sent', delivered: 'delivered',
    undelivered: 'undelivered', failed: 'failed', received: 'received',
  },
  priority: { P1: 'P1 critical', P2: 'P2 high', P3: 'P3 medium', P4: 'P4 low' },
  category: {
    sos: 'SOS', fall: 'Fall', vitals: 'Abnormal vitals', geofence_exit: 'Left safe area', device_silent: 'Device silent',
    low_battery: 'Low battery', device_removed: 'Watch taken off', service_request: 'Service request', enquiry: 'Enquiry',
    complaint: 'Complaint',
  },
  state: {
    new: 'New', acknowledged: 'Acknowledged', dispatched: 'Dispatched', on_scene: 'On scene', resolved: 'Resolved',
    closed: 'Closed', cancelled: 'Cancelled', false_alarm: 'False alarm',
  },
  source: { device_alarm: 'Device alarm', inbound_phone: 'Phone call', agent: 'Agent' },
  sex: { male: 'male', female: 'female' },
  ability_level: ['Intact', 'Mild loss', 'Moderate loss', 'Severe loss', 'Total loss'],
  contact_kind: { relative: 'Relative', community_worker: 'Community worker', doctor: 'Doctor', neighbour: 'Neighbour', other: 'Other' },
  event_type: {
    sos: 'SOS', fall: 'Fall', alarm: 'Alarm', removed: 'Taken off', low_battery: 'Low battery', geofence_exit: 'Left area',
    geofence_enter: 'Entered area', power_cut: 'Power cut', vitals: 'Vitals', position: 'Position', heartbeat: 'Heartbeat',
    media: 'Media', silent: 'Silent',
  },
  entry: {
    opened: 'Call opened', alarm: 'Alarm joined', state: 'State', claimed: 'Claimed', note: 'Note', notify: 'Contact notified',
    dispatch: 'Dispatch started', escalated: 'Escalated', offer: 'Offer sent', offer_expired: 'Offer unanswered',
    offer_declined: 'Offer declined', offer_accepted: 'Offer accepted', offer_undeliverable: 'Offer SMS failed',
    provider_arrived: 'Provider arrived', provider_done: 'Provider done', dispatch_failed: 'Dispatch failed',
    contact_alert: 'Contact texted', contact_reached: 'Contact reached', contact_failed: 'Contact SMS failed', handoff_120: 'Handed to 120',
  },
  outcomes: {
    resolved_by_phone: 'Resolved by phone', ambulance_120: 'Handed to 120', provider_served: 'Provider attended',
    family_handled: 'Family handled it', hospitalised: 'Taken to hospital', other: 'Other',
  },
  service: {
    emergency_rescue: 'Emergency rescue', meal_assistance: 'Meals', cleaning: 'Cleaning', bathing: 'Bathing',
    medical_escort: 'Medical escort', mobility_assistance: 'Mobility', housekeeping: 'Housekeeping', repair: 'Repair',
    errands: 'Errands', health_care: 'Health care', nursing: 'Nursing', companionship: 'Companionship',
    medicine_delivery: 'Medicine delivery',
  },
};

const DICTIONARIES = { 'zh-CN': ZH, en: EN };
export const TIME_ZONE = 'Asia/Shanghai';

export function initialLanguage() {
  const saved = localStorage.getItem('console.lang');
  return saved in DICTIONARIES ? saved : 'zh-CN';
}

export function saveLanguage(lang) {
  localStorage.setItem('console.lang', lang);
  document.documentElement.lang = lang;
}

/** A translator for one language: t('key'), t('state.new'), t('claimed_by_other', {name}). */
export function translator(lang) {
  const dictionary = DICTIONARIES[lang];
  return (key, values = {}) => {
    let text = key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), dictionary);
    if (text === undefined) return key.split('.').pop();
    for (const [name, value] of Object.entries(values)) text = text.replace(`{${name}}`, value);
    return text;
  };
}

export function dictionary(lang) {
  return DICTIONARIES[lang];
}

const formats = new Map();
function format(locale, options) {
  const key = locale + JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, hour12: false, ...options }));
  return formats.get(key);
}

/** "11-23 20:41:05" in Shanghai time, the same in every language. */
export function formatTime(iso) {
  if (!iso) return '';
  const parts = Object.fromEntries(
    format('en-GB', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(iso)).map((part) => [part.type, part.value]),
  );
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** 75 → "1:15", 4000 → "1:06:40". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

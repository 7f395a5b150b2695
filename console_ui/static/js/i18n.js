// Console texts in Chinese (default) and English, and time formatting in Asia/Shanghai.

import { yuan } from './money.js';

const ZH = {
  title: '12349 为老服务呼叫中心',
  login: '登录', logout: '退出', username: '用户名', password: '密码',
  login_failed: '用户名或密码错误', login_throttled: '尝试次数过多，请稍后再试',
  language: 'English', language_code: 'en', list_separator: '、', live: '实时', reconnecting: '重新连接中…',
  queue: '警情队列', no_calls: '当前没有待处理的呼叫', select_call: '从左侧选择一个呼叫',
  sound_on: '声音：开', sound_off: '声音：关',
  opened: '发起', waiting: '已等待', left: '剩余', overdue: '超时', escalated: '已升级',
  handled_by: '处理人', unclaimed: '未认领',
  queue_filters: '队列筛选', queue_state: '状态', all_states: '全部状态', compact: '紧凑', clear_filters: '清除筛选',
  queue_only: { mine: '我的', unclaimed: '未认领', escalated: '已升级' }, no_calls_filtered: '没有符合筛选条件的呼叫',
  take_over_and_acknowledge: '接管并确认',
  profile: '老人档案', age: '岁', phone: '电话', address: '住址', community: '社区',
  living_alone: '独居', empty_nest: '空巢', conditions: '疾病', medications: '用药', allergies: '过敏',
  ability: '能力等级', blood_type: '血型', none: '无',
  lives_with: '同住', physical_condition: '身体状况', hobbies: '兴趣爱好', subsidy_category: '补贴类别',
  device_phone: { phone: '老人手机', watch: '手表号码', app: '应用设备号码' },
  subsidy: {
    extreme_poverty: '特困', minimum_living: '低保', registered_poor: '建档立卡', special_care: '重点优抚',
    family_planning_special: '计生特殊家庭', severe_disability: '重度残疾', aged_80_plus: '80周岁以上', self_paying: '自费',
  },
  reasons: {
    no_eligible_provider: '没有可派的服务商（{considered} 家均不符合条件）', nobody_accepted_in_time: '已询问的 {asked} 家服务商均未按时接单',
    not_accepted_before_window: '距服务开始仅剩 {minutes} 分钟仍无人接单', nobody_accepted: '无人接单',
  },
  order_offered: '工单 #{id} 已创建，正在派单', order_offered_to: '工单 #{id} 已创建，已派给 {providers}，等待接单', order_waiting: '工单 #{id} 已创建，将在服务前派单',
  order_escalated_now: '工单 #{id} 已创建，但无法派单：{reason}。请人工处理',
  alarm_reason: {
    sos_button: '按下SOS键', fall_detected: '检测到跌倒', device_alarm: '设备报警', device_silent: '设备失联',
    battery_low: '电量低', watch_removed: '手表被摘下', left_safe_area: '离开安全区域',
  },
  vital: { heart_rate: '心率', systolic: '收缩压', diastolic: '舒张压', spo2: '血氧', temperature: '体温' },
  held_from: '（{time} 上报，静默时段后开启）',
  alert_text: {
    order_unaccepted: '工单 {order_id}（{elder_name}，{service}）无人接单，请人工处理：{why}',
    caller_waiting: '来电 {phone_call_id}（{category}）已排队等待超过 {waited_s} 秒，无空闲坐席，请处理',
    recording_failed: '通话 {phone_call_id} 的录音未能从电话平台取回',
    event_parked: '设备事件 {event_id}（{event}，老人 {elder_id}）多次处理失败，已搁置，请检查',
    complaint_overdue: '投诉 {complaint_id} 已逾期（第 {level} 级），处理人：{assigned}',
    coverage: '{district} {service} 在营服务商只剩 {active} 家（要求至少 {minimum} 家）',
    provider_quality: '服务商 {provider_name} 质量指标低于要求，需复核：{flags}',
    care_unreached: '{elder_name}：社区助老员上门探访仍未见到老人，请主管跟进',
    care_no_worker: '{elder_name}：探访未能联系上老人，且没有登记社区助老员，请安排上门',
    care_no_heartbeat: '{elder_name}：探访未能联系上老人，且其设备 {hours} 小时内没有信号',
    assessment_overdue: '评估 {assessment_id}（老人 {elder_id}）的“{step}”环节已超过期限 {due_on} · 责任方：{owner}',
    reassessment_due: '{elder_name} 需要重新评估（上次评估 {assessment_id}）：{why_again}',
  },
  assessment_owner: { applicant: '申请人', street_office: '街道办', bureau: '民政部门', agency: '评估机构' },
  reassessment_reason: { yearly: '距上次评估已满一年', fall: '之后发生过跌倒报警', hospital: '之后有送医记录', decline: '关爱回访发现状况变差' },
  care_declining: '老人状况明显变差（建议重新评估）',
  assessment_step: {
    incomplete: '待补材料', accepted: '已受理（待核实）', verified: '已核实（待组织评估）', organised: '评估中',
    assessed: '已评估（待审核）', public_notice: '公示中', refusal_notice: '待书面告知', final: '已办结', withdrawn: '已撤回',
  },
  quality_flag: {
    low_acceptance_rate: '接单率低', low_completion_rate: '完成率低', high_late_rate: '迟到率高',
    low_satisfaction: '满意度低', upheld_complaints: '成立的投诉多',
  },
  shortcuts: '键盘快捷键', close_help: '关闭',
  shortcut: {
    next_call: '下一个呼叫', previous_call: '上一个呼叫', acknowledge: '确认呼叫', dispatch: '派单（所选服务类型）',
    add_note: '写备注', notify_first: '短信通知第一位联系人', shortcuts: '显示/隐藏本说明', close_overlay: '关闭说明；离开输入框',
  },
  zoom_in: '放大', zoom_out: '缩小', map_legend: '图例', map_provider: '附近服务商', map_accepted: '已接单', eta_minutes: '约 {n} 分钟到达',
  contacts: '紧急联系人（按呼叫顺序）', notify: '短信通知', notify_again: '再次通知',
  sms_state: { queued: '待发送', sent: '已发出', delivered: '已送达', failed: '发送失败', replied: '已回复' },
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
  errors: {
    network: '无法连接服务器，请稍后重试',
    codes: {
      error: '服务器出错，请稍后重试', not_found: '记录不存在或已被删除', conflict: '与当前数据冲突，请刷新后重试',
      invalid_transition: '当前状态下不能执行此操作', validation_error: '输入有误，请检查后重试', unauthenticated: '请重新登录',
      forbidden: '您的角色无权执行此操作', rate_limited: '操作过于频繁，请稍后再试', payload_too_large: '内容过大',
    },
    reasons: {
      assessment_step: '评估不能从“{from_step}”进入“{to_step}”', step_role: '您的角色不能办理这一环节',
      assessors_only: '评估内容只对评估员和班长开放', stale_version: '他人已修改这份评估，请重新打开',
      answers_incomplete: '还有未作答的评估项目', signed_twice: '您已签名，需要另一位评估员签名',
      notice_running: '公示期至 {until}，期满后才能办结', not_final: '评估办结后才能生成服务计划', plans_made: '该评估的服务计划已生成',
      no_objection_possible: '只有已办结的评估可以申请一次复评（复评为最终结果）', materials_missing: '材料仍不齐全',
      assessment_open: '该老人已有未办结的评估 #{assessment_id}（{open_step}），办结或撤回后才能再次申请',
      refusal_needs_reason: '不予补贴需要写明原因', not_assessing: '该评估不在评估环节', not_assessed: '尚未完成评估',
      unknown_answers: '有不属于评估表的项目或选项', pick_elder: '请先选择老人',
      call_transition: '呼叫不能从“{from}”变为“{to}”', open_call_exists: '该老人已有未结束的呼叫',
      claimed_by_other: '该呼叫由 {name} 处理中，请先接管', outcome_required: '结案需要选择处理结果',
      changed_meanwhile: '该呼叫刚被他人修改，请刷新后重试', window_over: '所选服务时段已经过去',
      order_not_dispatchable: '工单状态为“{state}”，不能派单', order_not_cancellable: '工单状态为“{state}”，不能取消',
      acknowledge_first: '请先确认呼叫再派单', already_dispatching: '{service_type}已在派单中',
      finish_call_first: '您当前为“{agent_state}”，请先结束通话',
      payment_no_price: '该工单尚未定价（服务商接单后才有价格），不能收费', payment_nothing_due: '该工单已没有应收款项',
      payment_order_not_done: '该工单已取消或失败，不能收费', payment_not_found: '该收款记录不存在',
      prepaid_over_cap: '充值后将超过预付上限 {cap_fen}（已预付 {held_fen}）',
      refund_needs_supervisor: '退款金额超过 {limit_fen}，需由主管办理', refund_too_much: '退款金额超过可退金额 {refundable_fen}',
      refund_not_paid: '只有已支付的款项才能退款',
      bad_month: '月份格式为 年-月，如 2026-07', settlement_not_found: '该结算单不存在',
    },
  },
  dispatch_panel: '派单进度', candidates: '候选服务商（按距离排序）', excluded: '未派原因', within_circle: '15分钟圈内',
  minutes: '分钟', handoff: '转120', handoff_summary: '120交接摘要（请向120口述）', sms: '短信', calls: '警情',
  sms_title: '短信记录', outbox_only: '仅看发件箱（未配置短信网关时待人工处理）', enter_reply: '录入服务商回复',
  show_whole: '查看全文', show_whole_hint: '查看全文将记入审计日志',
  reply_from: '服务商手机号', reply_body: '回复内容，如“接 4821”', submit: '提交', direction: { outbound: '发出', inbound: '收到' },
  job_state: { offering: '派单中', assigned: '已接单', completed: '已完成', exhausted: '无人接单', cancelled: '已取消' },
  offer_state: {
    offered: '待回复', accepted: '已接单', arrived: '已到达', done: '已完成', declined: '已拒绝', expired: '超时未回复',
    undeliverable: '短信未送达', withdrawn: '已撤回',
  },
  exclusion: { inactive: '非营业状态', service_not_offered: '不提供该服务', unqualified: '缺少所需资质（养老护理员证）', at_capacity: '已满负荷', closed: '非营业时间', outside_area: '不在服务范围' },
  purpose: { offer: '派单', confirm: '接单确认', withdraw: '撤单', contact_alert: '通知联系人', contact_notice: '坐席通知联系人', handoff: '转120', help: '回复帮助', reply: '回复' },
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
    contact_no_report: '联系人短信无回执，通知下一位', contacts_stopped: '停止通知联系人',
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
  // service desk
  views: { calls: '警情', orders: '服务工单', followups: '回访', carecalls: '关爱', complaints: '投诉', providers: '服务商', sms: '短信', phone: '电话', history: '历史', wallboard: '大屏', admin: '管理', assessments: '评估', settlement: '结算' },
  admin_tab: { operators: '账号', audit: '审计日志', quality: '坐席质量', settings: '系统设置' },
  settlement_tab: { statements: '结算单', reconciliation: '对账', evidence: '待核查服务' },
  settlement_month: '结算月份', month_placeholder: '如 2026-07', month_invalid: '月份格式为 年-月，如 2026-07',
  settlement_compute: '生成/重算结算单', settlement_computed: '{month} 的结算单已生成（已审核、已付款的不变）',
  settlement_none: '{month} 还没有结算单，可点击“生成/重算结算单”', settlement_total: '合计（{n} 家）',
  settlement_col: {
    provider: '服务商', services: '服务次数', gross: '服务总额', subsidy: '政府补贴', self_pay: '个人自付', refunds: '退款',
    quality_score: '质量得分', quality_deduction: '质量扣减', complaints: '有效投诉扣减', net: '应付金额', state: '状态', actions: '操作',
  },
  settlement_state: { draft: '草稿', approved: '已审核', paid: '已付款' },
  settlement_step: { approve: '审核通过', paid: '标记已付款' },
  settlement_confirm: { approve: '确认审核通过？应付 {net}', paid: '确认已付款 {net}？' },
  settlement_wrong_state: '该结算单已是“{state}”，请刷新后再操作',
  settlement_xlsx: '表格', settlement_pdf: 'PDF', claim_district: '补贴申领区县', claim_xlsx: '下载补贴申领表',
  ledger_check: '账务核对', ledger_check_again: '重新核对', ledger_balanced: '账务平衡', ledger_unbalanced: '账务不平衡，请立即核查',
  ledger_counts: '{transactions} 笔交易，{entries} 条分录，{accounts} 个账户',
  ledger_unbalanced_txns: '借贷不平的交易：', ledger_mismatched_accounts: '余额与分录不符的账户：', ledger_below_floor: '补贴额度为负的账户：',
  reconciliation_days: '每日对账', reconciliation_none: '还没有对账记录', reconciliation_show: '查看差异', reconciliation_hide: '收起',
  reconciliation_col: { day: '日期', platform: '支付平台', lines: '账单笔数', mismatches: '差异笔数', checked_at: '核对时间', detail: '差异明细' },
  channel: { wechat: '微信支付' },
  mismatch_col: { kind: '类型', number: '单号', platform: '平台金额', ledger: '账本金额' },
  mismatch_kind: { payment: '支付', refund: '退款' }, mismatch_absent: '无此笔',
  evidence_state_label: '服务凭证', evidence_total: '共 {n} 单',
  evidence_state: { unevidenced: '凭证不全（不予结算）', flagged: '签到异常', evidenced: '凭证齐全' },
  evidence_hint: {
    unevidenced: '已完成但缺少签到、签退或老人确认的服务：补贴不予支付，请逐单核查',
    flagged: '签到位置距老人住址过远或没有定位的服务',
    evidenced: '签到、签退、老人确认齐全的服务，已计入结算',
  },
  evidence_none: { unevidenced: '没有凭证不全的服务', flagged: '没有签到异常的服务', evidenced: '还没有凭证齐全的服务' },
  evidence_col: { order: '工单号', service: '服务', window: '服务时段', elder: '老人', provider: '服务商', missing: '缺少', checkin: '签到', photo: '照片' },
  evidence_missing: { check_in: '签到', check_out: '签退', confirmation: '老人确认' },
  checkin_flag: { far: '距住址 {m} 米', no_position: '无定位' }, checkin_ok: '正常',
  evidence_open_order: '打开工单 #{id}', evidence_photo: '查看照片', evidence_photo_of: '查看照片：工单 #{id} 的服务照片',
  display_name: '姓名', role_label: '角色', online: '在线', offline_now: '未登录', online_col: '登录状态', last_login: '最近登录', actions: '操作',
  deactivate: '停用', reactivate: '启用', reset_password: '重置密码', sign_out: '强制下线', create_operator: '新建账号',
  operator_created: '已新建账号：{name}', new_password_prompt: '为 {name} 设置新密码（至少8位），其所有登录将失效',
  audit_filters: '审计筛选', audit_action: '操作', audit_entity: '对象', audit_at: '时间', audit_detail: '详情',
  agent_figure: {
    calls_acknowledged: '确认警情数', mean_seconds_to_acknowledge: '平均确认用时（秒）', follow_ups_completed: '完成回访',
    satisfaction: '平均满意度', care_calls_completed: '完成关爱探访', upheld_complaints: '成立的投诉',
  },
  settings_read_only: '以下为服务器当前运行的配置（只读，通过环境变量 DISPATCH_* 修改；密钥不显示）',
  search_placeholder: '搜索：姓名、拼音首字母、电话或证件号后几位、单号（按 / ）', search_label: '搜索老人和单号',
  search_none: '没有找到', search_more: '结果较多，只显示前 {n} 条，请输入更多',
  matched: { initials: '拼音首字母', pinyin: '拼音', name: '姓名', phone: '电话', id_number: '证件号', address: '住址', number: '单号' },
  hit_kind: { elder: '老人', call: '警情', order: '工单', complaint: '投诉' },
  alarm_settings: '本人报警规则', condition_label: '监测项',
  condition: { heart_rate: '心率', systolic: '收缩压', diastolic: '舒张压', spo2: '血氧', temperature: '体温', geofence: '安全区域' },
  policy_field: {
    raise_after_readings: '连续超限几次报警', raise_after_minutes: '或持续分钟', clear_after_readings: '连续正常几次解除',
    clear_margin: '解除余量', max_accuracy_m: '定位精度上限（米）',
  },
  quiet_hours_label: '静默时段（P3/P4 报警延后）', save_overrides: '保存报警规则', overrides_saved: '报警规则已保存',
  overrides_hint: '留空即使用默认值（灰色）；SOS 和跌倒不受影响，总是立即报警',
  elder_page: '老人主页', elder_timeline: '呼叫与服务记录', close_elder_page: '关闭', devices: '设备', device_kind: { watch: '手表', phone: '手机', app: '应用' },
  last_seen: '最后上报', battery: '电量', never_seen: '从未上报', position_at: '定位时间',
  timeline_all: '全部记录', timeline_kind: { call: '警情', phone_call: '电话', order: '工单', follow_up: '回访', care_call: '关爱', complaint: '投诉', assessment: '评估' },
  one_elder_only: '只看这位老人',
  no_timeline: '暂无记录', load_more: '加载更多', shown_of: '已显示 {shown} / {total} 条',
  followup_state: { pending: '待回访', done: '已回访', unreachable: '未联系上', cancelled: '已取消' },
  care_state: { scheduled: '待探访', done: '已探访', escalated: '已转助老员', cancelled: '已取消' },
  history_title: '历史警情', history_filters: '历史筛选', all_priorities: '全部级别', all_categories: '全部类别',
  date_from: '开始日期', date_to: '结束日期', page_prev: '上一页', page_next: '下一页', page_range: '第 {from}–{to} 条，共 {total} 条',
  col_opened: '发起时间', col_elder: '老人', col_category: '类别', col_priority: '级别', col_state: '状态', col_outcome: '处理结果', col_handler: '处理人',
  orders_title: '服务工单', no_orders: '没有符合条件的工单',
  order_tab: { today: '今日', overdue: '逾期', open: '全部未完成', closed: '已结束', all: '全部' },
  all_providers: '全部服务商', filter_state: '按状态筛选', filter_provider: '按服务商筛选',
  order_state: {
    requested: '待派单', scheduled: '已安排', offered: '待接单', accepted: '已接单', in_progress: '服务中',
    completed: '已完成', followed_up: '已回访', cancelled: '已取消', failed: '失败',
  },
  col: { window: '服务时间', elder: '老人', service: '服务', state: '状态', provider: '服务商', flags: '提示', source: '来源' },
  new_order: '新建工单', order_form: '新建服务工单', elder_search: '搜索老人（姓名、电话或身份证号）',
  no_elders_found: '未找到匹配的老人', change_elder: '重新选择', date: '日期', start_time: '开始时间', end_time: '结束时间',
  notes: '备注', notes_placeholder: '如：门禁密码、需带工具…', create_order: '提交工单',
  pick_elder: '请先选择老人', window_invalid: '结束时间须晚于开始时间',
  order_detail: '工单详情', close_detail: '关闭详情', history: '处理记录', offers: '派单记录', no_offers: '尚未派单',
  cancel_order: '取消工单', cancel_reason: '取消原因', confirm_cancel: '确认取消', keep_order: '不取消',
  redispatch: '重新派单', redispatched: '已重新派单', order_cancelled: '工单已取消',
  order_source: { phone: '电话受理', app: '老人端发起', plan: '定期计划', care_call: '关爱回访' },
  payment: { subsidy: '政府补贴', self_pay: '自费', mixed: '补贴+自费' },
  money_card: '补贴与费用', payments: '收费记录', no_payments: '暂无收费记录',
  entitled_by: '补贴依据', no_allowance: '无补贴（费用全部自付）', allowance_monthly: '每月额度', allowance_share: '政府承担',
  allowance_spent: '本月已用', allowance_left: '本月剩余', month_end: '月底余额', carried_over: '结转下月', lapses: '月底清零',
  prepaid_balance: '预付余额', prepaid_owed: '欠付自付费用', prepaid_cap: '预付上限', prepaid_cap_hint: '（按定期服务计划的月费计算，还可预付 {room}）',
  allowance_hint: '补贴剩余 {left} 元，政府承担 {share}%（{by}）；实际金额以服务商报价拆分为准',
  allowance_hint_none: '该老人没有补贴，服务费用全部自付',
  not_priced_yet: '服务商接单后按价目表定价，定价后才能收费',
  self_pay_total: '自付', paid_or_waiting: '已收或待付', amount_due: '应收', take_payment: '收款', take_amount: '收取 {amount}',
  pay_method_label: '收款方式', pay_method: { cash: '现金', bank_transfer: '银行转账', wechat: '微信扫码' },
  pay_state: { pending: '待支付', paid: '已支付', closed: '已关闭' },
  payment_taken: '已收款 {amount}', payment_waiting: '已生成 {amount} 的付款码，等待家属支付',
  qr_label: '微信支付二维码：{amount}', qr_hint: '请家属用微信扫码支付', qr_until: '{time} 前有效', qr_missing: '微信支付尚未返回付款码',
  refund: '退款', refund_form: '退款', refund_amount: '退款金额（元）', refund_reason: '退款原因', confirm_refund: '确认退款', keep_payment: '不退款',
  refunded: '已退 {amount}', refund_done: '已退款 {amount}', refund_asked: '已申请退款 {amount}，等待支付平台处理',
  amount_invalid: '请输入金额（元），最多两位小数，如 40 或 40.50', refund_reason_required: '请填写退款原因',
  top_up: '预付充值', amount_yuan: '金额（元）', top_up_submit: '充值',
  price: '价格', subsidy_part: '补贴', self_pay_part: '自付', created: '创建', accepted_at: '接单', arrived_at: '到达',
  completed_at: '完成', reply_by: '回复截止', code: '单号', reason: '原因',
  order_entry: {
    requested: '受理工单', cancelled: '取消工单', failed: '工单失败', escalated: '无人接单，已升级', followed_up: '已回访',
  },
  followups_title: '回访任务', due_only: '仅显示已到期', no_followups: '没有待回访的任务', select_followup: '从左侧列表选择一项回访',
  due_at: '应回访时间', attempts: '已拨打', subject: '事项', next_attempt: '下次拨打',
  followup_kind: { order: '服务工单', call: '警情' },
  reached_q: '是否联系上', reached_yes: '已联系上', reached_no: '未接通', satisfaction: '满意度',
  satisfaction_level: { 1: '非常不满意', 2: '不满意', 3: '一般', 4: '满意', 5: '非常满意' },
  comment: '回访意见', register_complaint: '登记投诉', complaint_text: '投诉内容', record_followup: '提交回访',
  followup_saved: '回访已登记', complaint_created: '已登记投诉 #{id}', satisfaction_required: '请选择满意度',
  complaint_required: '请填写投诉内容',
  providers_title: '服务商', search_providers: '搜索服务商（名称、电话）', all_statuses: '全部状态', no_providers: '没有服务商',
  provider_status: { pending: '待准入', active: '正常服务', suspended: '已暂停', exited: '已退出' },
  rating: '评分', rating_count: '{n}次评价', review_flag: '待复核', district: '区', contact_person: '联系人',
  capacity: '同时接单', status_reason: '状态说明', select_provider: '从列表选择一个服务商',
  admission: '准入检查', admission_missing: '未满足 {n} 项',
  admission_criterion: {
    legal_registration: '依法登记注册', staff: '服务人员', premises_equipment: '服务场所和设备',
    service_items: '服务项目、内容和频次', marked_prices: '明码标价', public_commitments: '公开服务承诺',
  },
  met: '符合', not_met: '不符合', not_checked: '未检查', checked_by: '检查人',
  known_qualification: { care_worker: '养老护理员证' }, edit_qualifications: '编辑', add_qualification: '添加',
  qualification_input: '资质或证书名称，如 养老护理员证', remove_qualification: '删除 {name}', no_qualifications: '未登记资质',
  staff_qualifications: '服务人员持有：', hands_on_care_ok: '持养老护理员证：可为三级及以上失能老人提供护理、助浴',
  hands_on_care_missing: '无养老护理员证：不派三级及以上失能老人的护理、助浴',
  price_list: '价目表', staff: '服务人员', item: '项目', unit: '单位', qualifications: '资质', inactive_staff: '停用',
  quality: '服务质量（主管可见）', acceptance_rate: '接单率', completion_rate: '完成率', late_rate: '迟到率',
  avg_satisfaction: '平均满意度', upheld_complaints: '成立的投诉', quality_flags: '预警', no_quality: '暂无数据',
  alerts_title: '待处理提醒', alert_ack: '已处理',
  providers_tab: { list: '服务商列表', coverage: '覆盖' },
  provider_action: { admit: '准入', suspend: '暂停', resume: '恢复', exit: '退出' },
  status_actions: '状态操作', status_reason_input: '原因（必填）',
  admission_refused: '无法准入，以下准入条件尚未满足：', admission_complete: '准入条件已全部满足',
  admission_missing_list: '未满足 {n} 项：{names}', list_sep: '；',
  record: '记录', evidence: '核查依据', evidence_placeholder: '核查依据，如：营业执照已核验',
  coverage_warning_title: '服务覆盖不足：以下服务已低于区内最低要求',
  coverage_title: '服务覆盖', coverage_rule: '助餐、陪同就医、保健康复、家政每区须至少 {minimum} 家在营服务商；服务圈为 {minutes} 分钟',
  coverage_below_minimum: '低于最低要求', coverage_required: '必备', coverage_no_districts: '暂无区县数据', no_district: '未填区县',
  uncovered_title: '{minutes} 分钟服务圈外的老人（按服务类型）', show_elders: '查看名单', collapse: '收起',
  uncovered_more: '另有 {n} 位未列出',
  complaint_elder: '相关老人', complaint_call: '相关警情 #', complaint_order: '相关工单 #',
  complaints_title: '投诉建议', new_complaint: '新建投诉', complaint_form: '登记投诉建议', no_complaints: '没有投诉',
  select_complaint: '从左侧列表选择一项投诉', complaint_tab: { pending: '待处理', overdue: '逾期', resolved: '已办结' },
  complaint_kind: { complaint: '投诉', suggestion: '建议' },
  complaint_source: { phone: '来电', call: '警情', follow_up: '回访', care_call: '关爱探访', other: '其他' },
  complaint_target: { provider: '服务商', agent: '坐席', service: '平台服务' },
  complaint_state: { open: '待分派', assigned: '处理中', resolved: '已办结' },
  kind: '类型', target: '投诉对象', source_label: '来源', provider_n: '服务商 #{id}', pick_provider: '请选择服务商',
  complainant: '投诉人', complainant_name: '投诉人姓名', complainant_phone: '投诉人电话', anonymous: '未留姓名',
  assignee: '处理人', unassigned: '未分派', due: '办结期限', resolved_at: '办结时间',
  investigation: '调查记录', no_notes: '暂无调查记录', note_added: '已添加调查记录',
  resolve_complaint: '办结', resolution: '处理结果', upheld: '投诉成立', upheld_yes: '成立', upheld_no: '不成立',
  informed_how: '告知方式', informed: { phone: '电话告知', sms: '短信告知', visit: '上门告知' },
  complaint_resolved: '投诉 #{id} 已办结',
  carecalls_title: '今日关爱探访', carecalls_all: '全部待探访', show_all_scheduled: '显示全部待探访',
  no_carecalls: '今天没有待探访的老人', no_carecalls_all: '没有待探访的任务', select_carecall: '从左侧列表选择一位老人',
  cadence: { weekly: '每周', monthly: '每月' }, cadence_label: '频次', due_on: '应探访日', today: '今天', period: '周期',
  channel: '方式', care_channel: { phone: '电话', video: '视频', visit: '上门' },
  care_assignee: { agent: '坐席', community_worker: '社区助老员' },
  care_reached_q: '是否联系上老人', care_notes: '探访记录', elder_notes: '更新老人档案备注',
  elder_notes_placeholder: '将写入老人档案，如：近期腿脚不便，需要助浴', elder_record_notes: '档案备注',
  attempt_log: '拨打记录', record_carecall: '提交探访', carecall_done: '探访已完成',
  carecall_escalated: '多次未联系上，已转社区助老员上门探访', carecall_retry: '已记录：未接通（第 {n} 次）',
  schedule_carecalls: '生成本周任务', scheduled_n: '新生成 {n} 项探访任务',
  // the hotline (电话)
  dial: '拨打', dial_hint: '由系统先呼叫您的话机，接通后再呼叫对方',
  dial_unavailable: '无法外呼：未配置电话线路或您的坐席未设置电话。请手工登记这次通话。',
  dial_refused: {
    voice_not_configured: '无法外呼：系统未配置电话线路。请手工登记这次通话。',
    no_agent_phone: '无法外呼：您的坐席未设置电话号码。请手工登记这次通话。',
    already_on_call: '无法外呼：您正在通话中。',
  },
  log_call: '登记通话', log_save: '保存通话记录', log_saved: '通话记录 #{id} 已保存', number_unknown: '未找到该号码的老人；保存时系统按号码识别来电人',
  log_field: { number: '电话号码', direction: '呼叫方向', category: '来电类别', outcome: '结果', talk_time: '通话时长', note: '备注' },
  seconds: '秒',
  phone_direction: { inbound: '呼入', outbound: '呼出' },
  phone_category: {
    emergency: '紧急求助', home_service: '居家服务', enquiry: '咨询', complaint: '投诉', follow_up: '回访', care_call: '关爱探访', emotional_support: '精神慰藉', other: '其他',
  },
  phone_outcome: { answered: '已接通', abandoned: '未接听即挂断', no_answer: '无人接听', busy: '占线', failed: '呼叫失败' },
  phone_state: { menu: '语音菜单', queued: '排队中', ringing: '振铃中', talking: '通话中', ended: '已结束' },
  phone_link: { call_id: '警情', order_id: '工单', follow_up_id: '回访', care_call_id: '关爱探访', complaint_id: '投诉' },
  caller_kind: { elder: '老人本人', device: '老人的设备', contact: '紧急联系人', provider: '服务商', staff: '工作人员', unknown: '未知号码' },
  agent_state: { ready: '就绪', ringing: '振铃中', on_call: '通话中', wrap_up: '话后整理', away: '小休', offline: '离线' },
  agent_state_label: '坐席状态', agent_state_change: '切换状态…',
  role: { agent: '坐席', supervisor: '班长', admin: '管理员', assessor: '评估员' },
  content_lang: 'zh', all: '全部', loading: '正在加载…', updated: '更新时间', overdue_only: '只看超期',
  assessments_title: '能力评估', new_assessment: '新评估申请', assessment_state_filter: '环节', no_assessments: '暂无评估',
  select_assessment: '选择一条评估查看', assessment_created: '评估申请 {id} 已登记', assessment_n: '评估 {id}', open_assessment_n: '打开评估 {id}',
  assessment_procedure_label: '程序', assessment_procedure: { standard: '一般程序', simplified: '简易程序', reassessment: '复评' },
  ability_level_label: '能力等级', from_call: '（来自警情 {id}）', applicant: '申请人', applicant_name: '申请人姓名',
  applicant_phone: '申请人电话', applicant_kind: { elder: '老人本人', family: '共同生活的家庭成员', community: '村（居）委会代为申请' },
  materials_handed_in: '已提交材料', materials_missing: '待补材料',
  material: { application_form: '养老服务需求评估申请表', identity_documents: '身份证、户口簿复印件', proof_of_situation: '低保、特困或重残等证明' },
  assessment_moved: '评估 {id} 已进入“{step}”', due_provisional: '按周一至周五估算，待节假日安排公布后核对', allowance: '养老服务补贴',
  yuan_a_month: '每月 {yuan} 元', assessment_note: '意见 / 原因', materials_complete: '材料已补齐，受理', mark_verified: '核实完成',
  mark_organised: '交评估机构评估', propose_subsidy: '拟享受补贴，公示', refuse_subsidy: '不予补贴（书面告知）', make_final: '办结',
  withdraw: '撤回', assessment_report: '评估报告（PDF）', object_reassess: '对结果有异议：申请复评', reassessment_created: '已登记复评',
  plans_made: '已生成 {n} 项服务计划', service_plan: '服务计划', no_plan_needed: '该等级无需安排服务', per_week: '每周 {n} 次',
  asked_for: '老人提出', make_plans: '生成服务计划', assessor_title: '能力评估 · 评估员工作台', to_assess: '待评估',
  answered_of: '已答 {n} / {total} 项', points: '{n} 分', level_changes: '能力等级变更依据', needs: '服务需求',
  save_status: { loading: '正在读取…', saved: '已保存', saving: '正在保存…', unsaved: '未保存', offline: '网络中断：已存在本机，恢复后自动保存', conflict: '他人已修改，请返回重新打开', error: '保存失败' },
  finding: { coma: '处于昏迷状态', dementia: '确诊痴呆（F00～F03）', mental_disorder: '精神科诊断的其他精神和行为障碍（F04～F99）', risk_events_30d: '近30天照护风险事件（次）' },
  needs_field: { living: '居住状况', carer: '现在的照护人', economic: '经济状况' },
  needs_living: { alone_without_family: '孤寡', alone: '独居', with_spouse: '与配偶同住', with_children: '与子女同住', with_relatives_or_friends: '与亲友同住' },
  needs_carer: { nobody: '无人照护', spouse: '配偶', children: '子女', other_relative: '其他亲属', paid_carer: '雇佣护工', neighbour_or_volunteer: '邻里或志愿者' },
  needs_economic: { subsistence_allowance: '低保', extreme_poverty: '特困', low_income: '低收入', ordinary: '一般' },
  sign_assessment: '签名提交', assessment_complete: '评估 {id} 已完成（两位评估员均已签名）', first_signature: '评估 {id} 已签名，等待第二位评估员签名',
  phone_panel: '来电', phone_stage: { ringing: '来电振铃', dialling: '正在外呼', talking: '通话中', ended: '通话结束' },
  caller_loading: '正在读取来电人档案…', unknown_number: '未知号码', elder_on_the_line: '老人设备来电：老人在线',
  dialect: '方言', open_calls: '未结警情', open_orders: '未完成工单', recent_contacts: '最近5次联系',
  recent_kind: { phone_call: '电话', call: '警情' },
  pick_up_hint: '请拿起话机接听', answer: '接听', open_record: '打开记录',
  answer_opens: {
    emergency: '打开警情', home_service: '新建服务工单', enquiry: '记录咨询', complaint: '登记投诉', follow_up: '记录',
    care_call: '记录', emotional_support: '记录', other: '记录',
  },
  new_contact: '新来电登记', new_contact_hint: '来电登记：按类别建立对应记录（紧急求助开警情，居家服务开工单，投诉开投诉单）',
  contact_saved: { emergency: '已登记来电并开启警情 #{id}', home_service: '已登记来电，请填写服务工单', complaint: '已登记来电，请填写投诉',
    enquiry: '已登记咨询来电 #{id}', emotional_support: '已登记精神慰藉来电 #{id}' },
  enquiry_note: '咨询内容', phone_call_reason: '来电 {number}', pick_elder_first: '请先在上方搜索并选择老人',
  hold: '保持', resume: '恢复通话', on_hold: '保持中', mute: '静音', unmute: '取消静音', hang_up: '挂断',
  add_party: '加入第三方', add_party_provider: '选择服务商', add_party_120: '加入120', add_party_number: '输入号码',
  add_party_go: '呼叫', party_added: '已呼叫第三方加入通话', transfer: '转接', transfer_to: '转接给', no_agents: '没有其他坐席',
  transferred: '已转接', wrap_up_left: '话后整理剩余', ready_again: '整理完毕，就绪', close_panel: '关闭',
  expand: '展开',
  phone_title: '通话记录', no_phone_calls: '没有通话记录', my_calls: '只看我的', all_directions: '全部方向', more: '更多',
  phone_filter: { direction: '按方向筛选', state: '按状态筛选' },
  phone_col: {
    time: '时间', direction: '方向', number: '号码', caller: '来电人', category: '类别', outcome: '结果', agent: '坐席',
    wait: '等待', talk: '通话', note: '备注', recording: '录音',
  },
  by_hand: '手工登记', recording_audited: '播放录音将记入审计日志',
  recording_state: { pending: '录音处理中', stored: '已存档', failed: '录音获取失败', deleted: '已过保存期删除' },
  callbacks_title: '待回拨（来电未接通即挂断）', no_callbacks: '没有待回拨的来电', callback_done: '已回拨',
  callback_marked_done: '已标记为已回拨', callback_alarm_open: '该老人有未结警情，请优先回拨', ring_back: '回拨',
  wallboard: {
    title: '话务大屏', today: '今日', refreshed: '更新于', waiting_now: '正在排队', longest_wait: '最长等待',
    offered: '呼入', answered: '已接听', abandoned: '放弃', average_handle: '平均处理时长', within: '{s}秒内接听',
    target: '目标', agents: '坐席状态',
  },
};

const EN = {
  title: '12349 Elder Service Call Centre',
  login: 'Log in', logout: 'Log out', username: 'Username', password: 'Password',
  login_failed: 'Wrong username or password', login_throttled: 'Too many attempts, try again later',
  language: '中文', language_code: 'zh-CN', list_separator: ', ', live: 'Live', reconnecting: 'Reconnecting…',
  queue: 'Call queue', no_calls: 'No open calls', select_call: 'Select a call on the left',
  sound_on: 'Sound: on', sound_off: 'Sound: off',
  opened: 'Opened', waiting: 'Waiting', left: 'left', overdue: 'overdue', escalated: 'Escalated',
  handled_by: 'Handled by', unclaimed: 'Unclaimed',
  queue_filters: 'Queue filters', queue_state: 'State', all_states: 'All states', compact: 'Compact', clear_filters: 'Clear filters',
  queue_only: { mine: 'Mine', unclaimed: 'Unclaimed', escalated: 'Escalated' }, no_calls_filtered: 'No call matches the filters',
  take_over_and_acknowledge: 'Take over and acknowledge',
  profile: 'Elder profile', age: 'y', phone: 'Phone', address: 'Address', community: 'Community',
  living_alone: 'Lives alone', empty_nest: 'Empty nest', conditions: 'Conditions', medications: 'Medications',
  allergies: 'Allergies', ability: 'Ability level', blood_type: 'Blood type', none: 'none',
  lives_with: 'Lives with', physical_condition: 'Physical condition', hobbies: 'Hobbies', subsidy_category: 'Subsidy category',
  device_phone: { phone: 'Elder\'s mobile', watch: 'Watch number', app: 'App device number' },
  subsidy: {
    extreme_poverty: 'Extreme poverty', minimum_living: 'Minimum living allowance', registered_poor: 'Registered poor', special_care: 'Special care',
    family_planning_special: 'Family-planning special', severe_disability: 'Severe disability', aged_80_plus: 'Aged 80+', self_paying: 'Self-paying',
  },
  reasons: {
    no_eligible_provider: 'no eligible provider ({considered} considered, none qualified)', nobody_accepted_in_time: 'none of the {asked} providers asked accepted in time',
    not_accepted_before_window: 'nobody accepted with {minutes} min to go', nobody_accepted: 'nobody accepted',
  },
  order_offered: 'Order #{id} created and being offered', order_offered_to: 'Order #{id} created and offered to {providers}', order_waiting: 'Order #{id} created; it will be offered ahead of the service',
  order_escalated_now: 'Order #{id} created but could not be offered: {reason}. Please handle it by hand',
  alarm_reason: {
    sos_button: 'SOS button pressed', fall_detected: 'fall detected', device_alarm: 'device alarm', device_silent: 'device silent',
    battery_low: 'battery low', watch_removed: 'watch taken off', left_safe_area: 'left the safe area',
  },
  vital: { heart_rate: 'heart rate', systolic: 'systolic', diastolic: 'diastolic', spo2: 'SpO2', temperature: 'temperature' },
  held_from: '(reported {time}, held over the quiet hours)',
  alert_text: {
    order_unaccepted: 'Order {order_id} ({elder_name}, {service}) found nobody: handle it by hand ({why})',
    caller_waiting: 'Caller {phone_call_id} ({category}) has waited over {waited_s} s with no agent ready',
    recording_failed: 'The recording of phone call {phone_call_id} could not be fetched',
    event_parked: 'Device event {event_id} ({event}, elder {elder_id}) failed repeatedly and was parked: check it',
    complaint_overdue: 'Complaint {complaint_id} is overdue (level {level}), handled by {assigned}',
    coverage: '{district}: only {active} {service} provider(s) in operation (at least {minimum} required)',
    provider_quality: 'Provider {provider_name} is below the quality thresholds, review it: {flags}',
    care_unreached: '{elder_name}: the community worker\'s visit did not find the elder either; follow it up',
    care_no_worker: '{elder_name}: not reached by the care call, and no community worker on record: arrange a visit',
    care_no_heartbeat: '{elder_name}: not reached by the care call, and no device signal within {hours} h',
    assessment_overdue: 'Assessment {assessment_id} (elder {elder_id}) is past its deadline of {due_on} at "{step}" · owner: {owner}',
    reassessment_due: '{elder_name} is due for a new assessment (last: {assessment_id}): {why_again}',
  },
  assessment_owner: { applicant: 'the applicant', street_office: 'the street office', bureau: 'the civil affairs bureau', agency: 'the assessment agency' },
  reassessment_reason: { yearly: 'a year since the last one', fall: 'a fall alarm since', hospital: 'taken to hospital since', decline: 'a care call found them worse' },
  care_declining: 'Clearly worse than before (a re-assessment is proposed)',
  assessment_step: {
    incomplete: 'materials missing', accepted: 'accepted (to verify)', verified: 'verified (to organise)', organised: 'being assessed',
    assessed: 'assessed (to review)', public_notice: 'public notice', refusal_notice: 'refusal to notify', final: 'final', withdrawn: 'withdrawn',
  },
  quality_flag: {
    low_acceptance_rate: 'low acceptance', low_completion_rate: 'low completion', high_late_rate: 'often late',
    low_satisfaction: 'low satisfaction', upheld_complaints: 'upheld complaints',
  },
  shortcuts: 'Keyboard shortcuts', close_help: 'Close',
  shortcut: {
    next_call: 'Next call', previous_call: 'Previous call', acknowledge: 'Acknowledge the call', dispatch: 'Dispatch (the chosen service type)',
    add_note: 'Write a note', notify_first: 'Text the first contact', shortcuts: 'Show or hide this help', close_overlay: 'Close the help; leave a text field',
  },
  zoom_in: 'Zoom in', zoom_out: 'Zoom out', map_legend: 'Legend', map_provider: 'Provider nearby', map_accepted: 'Accepted', eta_minutes: 'ETA {n} min',
  contacts: 'Contacts (in call order)', notify: 'Text', notify_again: 'Text again',
  sms_state: { queued: 'queued', sent: 'sent', delivered: 'delivered', failed: 'failed', replied: 'replied' },
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
  errors: {
    network: 'The server cannot be reached; try again shortly',
    codes: {
      error: 'The server failed; try again shortly', not_found: 'Not found (or deleted)', conflict: 'That clashes with the current data; reload and retry',
      invalid_transition: 'Not possible in the current state', validation_error: 'Please check what you entered', unauthenticated: 'Please log in again',
      forbidden: 'Your role does not allow this', rate_limited: 'Too many attempts; try again later', payload_too_large: 'Too large',
    },
    reasons: {
      assessment_step: 'An assessment cannot go from "{from_step}" to "{to_step}"', step_role: 'Your role does not take this step',
      assessors_only: 'Assessment answers are for assessors and supervisors', stale_version: 'Someone changed this assessment: open it again',
      answers_incomplete: 'Some items are not answered yet', signed_twice: 'You have signed: another assessor must sign',
      notice_running: 'The public notice runs until {until}; make it final after that', not_final: 'A service plan follows a final result', plans_made: "This assessment's plans were made already",
      no_objection_possible: 'Only a final result can be objected to, once (the re-assessment is final)', materials_missing: 'Materials are still missing',
      assessment_open: 'This elder already has an open assessment, #{assessment_id} ({open_step}): finish or withdraw it before applying again',
      refusal_needs_reason: 'A refusal needs its reason', not_assessing: 'This assessment is not being assessed', not_assessed: 'Not assessed yet',
      unknown_answers: 'Some items or options are not on the form', pick_elder: 'Pick the elder first',
      call_transition: 'A call cannot go from "{from}" to "{to}"', open_call_exists: 'This elder already has an open call',
      claimed_by_other: '{name} is handling this call: take it over first', outcome_required: 'Closing needs an outcome',
      changed_meanwhile: 'Someone else changed this call just now: reload and retry', window_over: 'That time window is already over',
      order_not_dispatchable: 'An order that is "{state}" cannot be dispatched', order_not_cancellable: 'An order that is "{state}" cannot be cancelled',
      acknowledge_first: 'Acknowledge the call before dispatching', already_dispatching: '{service_type} is already being dispatched',
      finish_call_first: 'You are "{agent_state}": finish the call first',
      payment_no_price: 'The order has no price yet (a provider prices it on accepting): nothing to take',
      payment_nothing_due: 'Nothing is due on this order', payment_order_not_done: 'The order was cancelled or failed: nothing to take',
      payment_not_found: 'The payment no longer exists',
      prepaid_over_cap: 'This top-up would take the prepaid money over its cap of {cap_fen} ({held_fen} held)',
      refund_needs_supervisor: 'A refund above {limit_fen} needs a supervisor', refund_too_much: 'More than can be refunded ({refundable_fen} left)',
      refund_not_paid: 'Only a paid payment can be refunded',
      bad_month: 'A month is written year-month, e.g. 2026-07', settlement_not_found: 'This statement does not exist',
    },
  },
  dispatch_panel: 'Dispatch', candidates: 'Candidates (nearest first)', excluded: 'Not offered because', within_circle: 'within 15 min',
  minutes: 'min', handoff: 'Hand to 120', handoff_summary: '120 hand-off summary (read it out)', sms: 'SMS', calls: 'Calls',
  sms_title: 'Text messages', outbox_only: 'Outbox only (messages waiting for an agent when no SMS gateway is set up)',
  show_whole: 'Show', show_whole_hint: 'Reading the whole text is written to the audit log',
  enter_reply: "Enter a provider's reply", reply_from: "Provider's phone", reply_body: 'Reply, e.g. "Y 4821"', submit: 'Submit',
  direction: { outbound: 'out', inbound: 'in' },
  job_state: { offering: 'Offering', assigned: 'Assigned', completed: 'Completed', exhausted: 'Nobody accepted', cancelled: 'Cancelled' },
  offer_state: {
    offered: 'Waiting', accepted: 'Accepted', arrived: 'Arrived', done: 'Done', declined: 'Declined', expired: 'No answer',
    undeliverable: 'SMS not delivered', withdrawn: 'Withdrawn',
  },
  exclusion: { inactive: 'not active', service_not_offered: 'does not offer it', unqualified: 'lacks the required certificate', at_capacity: 'at capacity', closed: 'closed now', outside_area: 'outside its area' },
  purpose: { offer: 'offer', confirm: 'confirmation', withdraw: 'withdrawal', contact_alert: 'contact alert', contact_notice: 'agent\'s notice', handoff: '120 hand-off', help: 'help', reply: 'reply' },
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
    contact_alert: 'Contact texted', contact_reached: 'Contact reached', contact_failed: 'Contact SMS failed',
    contact_no_report: 'No delivery report: next contact', contacts_stopped: 'Contact alerts stopped', handoff_120: 'Handed to 120',
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
  // service desk
  views: { calls: 'Calls', orders: 'Orders', followups: 'Follow-ups', carecalls: 'Care calls', complaints: 'Complaints', providers: 'Providers', sms: 'SMS', phone: 'Phone', history: 'History', wallboard: 'Wallboard', admin: 'Admin', assessments: 'Assessments', settlement: 'Settlement' },
  admin_tab: { operators: 'Accounts', audit: 'Audit log', quality: 'Agent quality', settings: 'Settings' },
  settlement_tab: { statements: 'Statements', reconciliation: 'Reconciliation', evidence: 'Services to review' },
  settlement_month: 'Month', month_placeholder: 'e.g. 2026-07', month_invalid: 'A month is written year-month, e.g. 2026-07',
  settlement_compute: 'Compute / redraft statements', settlement_computed: 'Statements for {month} drafted (approved and paid ones unchanged)',
  settlement_none: 'No statements for {month} yet: use "Compute / redraft statements"', settlement_total: 'Total ({n} providers)',
  settlement_col: {
    provider: 'Provider', services: 'Services', gross: 'Gross', subsidy: 'Subsidy', self_pay: 'Self-pay', refunds: 'Refunds',
    quality_score: 'Quality score', quality_deduction: 'Quality deduction', complaints: 'Upheld complaints', net: 'Net payable', state: 'State', actions: 'Actions',
  },
  settlement_state: { draft: 'Draft', approved: 'Approved', paid: 'Paid' },
  settlement_step: { approve: 'Approve', paid: 'Mark paid' },
  settlement_confirm: { approve: 'Approve, net {net}?', paid: 'Mark {net} as paid?' },
  settlement_wrong_state: 'This statement is already "{state}"; reload and try again',
  settlement_xlsx: 'Spreadsheet', settlement_pdf: 'PDF', claim_district: 'Subsidy claim for district', claim_xlsx: 'Download the subsidy claim',
  ledger_check: 'Ledger check', ledger_check_again: 'Check again', ledger_balanced: 'The ledger balances', ledger_unbalanced: 'The ledger does not balance: check it now',
  ledger_counts: '{transactions} transactions, {entries} entries, {accounts} accounts',
  ledger_unbalanced_txns: 'Transactions that do not sum to zero:', ledger_mismatched_accounts: 'Balances that differ from their entries:', ledger_below_floor: 'Allowances below zero:',
  reconciliation_days: 'Daily reconciliation', reconciliation_none: 'No day reconciled yet', reconciliation_show: 'Show differences', reconciliation_hide: 'Hide',
  reconciliation_col: { day: 'Day', platform: 'Platform', lines: 'Bill lines', mismatches: 'Differences', checked_at: 'Checked at', detail: 'Details' },
  channel: { wechat: 'WeChat Pay' },
  mismatch_col: { kind: 'Kind', number: 'Number', platform: 'Platform amount', ledger: 'Ledger amount' },
  mismatch_kind: { payment: 'Payment', refund: 'Refund' }, mismatch_absent: 'missing',
  evidence_state_label: 'Evidence', evidence_total: 'Total: {n}',
  evidence_state: { unevidenced: 'Incomplete (not paid)', flagged: 'Check-in flagged', evidenced: 'Evidenced' },
  evidence_hint: {
    unevidenced: 'Completed services without a check-in, a check-out or the elder\'s confirmation: no subsidy is paid for them; review each one',
    flagged: 'Services checked in far from the elder\'s home or without a position',
    evidenced: 'Services with check-in, check-out and the elder\'s confirmation, counted in the statements',
  },
  evidence_none: { unevidenced: 'No service lacks evidence', flagged: 'No check-in was flagged', evidenced: 'No service is evidenced yet' },
  evidence_col: { order: 'Order', service: 'Service', window: 'Window', elder: 'Elder', provider: 'Provider', missing: 'Missing', checkin: 'Check-in', photo: 'Photo' },
  evidence_missing: { check_in: 'check-in', check_out: 'check-out', confirmation: 'elder\'s confirmation' },
  checkin_flag: { far: '{m} m from home', no_position: 'no position' }, checkin_ok: 'near home',
  evidence_open_order: 'Open order #{id}', evidence_photo: 'View photo', evidence_photo_of: 'View photo: the service photo of order #{id}',
  display_name: 'Name', role_label: 'Role', online: 'Logged in', offline_now: 'Not logged in', online_col: 'Session', last_login: 'Last login', actions: 'Actions',
  deactivate: 'Deactivate', reactivate: 'Reactivate', reset_password: 'Reset password', sign_out: 'Sign out everywhere', create_operator: 'Create account',
  operator_created: 'Account created: {name}', new_password_prompt: 'New password for {name} (8 characters or more); their sessions end',
  audit_filters: 'Audit filters', audit_action: 'Action', audit_entity: 'Record', audit_at: 'Time', audit_detail: 'Detail',
  agent_figure: {
    calls_acknowledged: 'Calls acknowledged', mean_seconds_to_acknowledge: 'Mean seconds to acknowledge', follow_ups_completed: 'Follow-ups done',
    satisfaction: 'Mean satisfaction', care_calls_completed: 'Care calls done', upheld_complaints: 'Upheld complaints',
  },
  settings_read_only: 'The configuration this server runs with (read-only; change it with the DISPATCH_* environment variables; secrets are not shown)',
  search_placeholder: 'Search: name, pinyin initials, last digits of a phone or ID, a number (press /)', search_label: 'Search elders and numbers',
  search_none: 'Nothing found', search_more: 'Many matches: the first {n} shown, type more',
  matched: { initials: 'pinyin initials', pinyin: 'pinyin', name: 'name', phone: 'phone', id_number: 'ID number', address: 'address', number: 'number' },
  hit_kind: { elder: 'Elder', call: 'Call', order: 'Order', complaint: 'Complaint' },
  alarm_settings: "This elder's alarm rules", condition_label: 'Measure',
  condition: { heart_rate: 'Heart rate', systolic: 'Systolic', diastolic: 'Diastolic', spo2: 'SpO2', temperature: 'Temperature', geofence: 'Safe area' },
  policy_field: {
    raise_after_readings: 'Readings out before a call', raise_after_minutes: 'or minutes out', clear_after_readings: 'Readings back before clearing',
    clear_margin: 'Clearing margin', max_accuracy_m: 'Worst position accuracy (m)',
  },
  quiet_hours_label: 'Quiet hours (P3/P4 alarms wait)', save_overrides: 'Save the alarm rules', overrides_saved: 'Alarm rules saved',
  overrides_hint: 'Empty fields keep the default (in grey); SOS and falls are never held back',
  elder_page: 'Elder page', elder_timeline: 'Calls and services', close_elder_page: 'Close', devices: 'Devices', device_kind: { watch: 'Watch', phone: 'Phone', app: 'App' },
  last_seen: 'Last report', battery: 'Battery', never_seen: 'Never reported', position_at: 'Position at',
  timeline_all: 'Everything', timeline_kind: { call: 'Call', phone_call: 'Phone call', order: 'Order', follow_up: 'Follow-up', care_call: 'Care call', complaint: 'Complaint', assessment: 'Assessment' },
  one_elder_only: 'This elder only',
  no_timeline: 'Nothing yet', load_more: 'Load more', shown_of: '{shown} of {total} shown',
  followup_state: { pending: 'To call', done: 'Done', unreachable: 'Unreachable', cancelled: 'Cancelled' },
  care_state: { scheduled: 'Scheduled', done: 'Done', escalated: 'Handed to the worker', cancelled: 'Cancelled' },
  history_title: 'Call history', history_filters: 'History filters', all_priorities: 'All priorities', all_categories: 'All categories',
  date_from: 'From', date_to: 'To', page_prev: 'Previous', page_next: 'Next', page_range: '{from}–{to} of {total}',
  col_opened: 'Opened', col_elder: 'Elder', col_category: 'Category', col_priority: 'Priority', col_state: 'State', col_outcome: 'Outcome', col_handler: 'Handled by',
  orders_title: 'Service orders', no_orders: 'No orders match',
  order_tab: { today: 'Today', overdue: 'Overdue', open: 'All open', closed: 'Closed', all: 'All' },
  all_providers: 'All providers', filter_state: 'Filter by state', filter_provider: 'Filter by provider',
  order_state: {
    requested: 'To dispatch', scheduled: 'Scheduled', offered: 'Awaiting provider', accepted: 'Accepted',
    in_progress: 'In progress', completed: 'Completed', followed_up: 'Followed up', cancelled: 'Cancelled', failed: 'Failed',
  },
  col: { window: 'When', elder: 'Elder', service: 'Service', state: 'State', provider: 'Provider', flags: 'Notes', source: 'Source' },
  new_order: 'New order', order_form: 'New service order', elder_search: 'Find the elder (name, phone or ID number)',
  no_elders_found: 'No elder matches', change_elder: 'Change', date: 'Date', start_time: 'From', end_time: 'To',
  notes: 'Notes', notes_placeholder: 'e.g. door code, tools to bring…', create_order: 'Create order',
  pick_elder: 'Pick an elder first', window_invalid: 'The end must be after the start',
  order_detail: 'Order', close_detail: 'Close details', history: 'History', offers: 'Offers', no_offers: 'Not offered yet',
  cancel_order: 'Cancel order', cancel_reason: 'Why cancel', confirm_cancel: 'Confirm cancelling', keep_order: 'Keep it',
  redispatch: 'Dispatch again', redispatched: 'Offered again', order_cancelled: 'Order cancelled',
  order_source: { phone: 'Phone', app: "Elder's app", plan: 'Recurring plan', care_call: 'Care call' },
  payment: { subsidy: 'Subsidy', self_pay: 'Self-pay', mixed: 'Subsidy + self-pay' },
  money_card: 'Allowance and payments', payments: 'Payments', no_payments: 'No payments yet',
  entitled_by: 'Entitled by', no_allowance: 'No allowance (the elder pays all)', allowance_monthly: 'Monthly allowance', allowance_share: 'Government share',
  allowance_spent: 'Spent this month', allowance_left: 'Left this month', month_end: 'At month end', carried_over: 'Carried over', lapses: 'Lapses',
  prepaid_balance: 'Prepaid balance', prepaid_owed: 'Self-pay owed', prepaid_cap: 'Prepaid cap', prepaid_cap_hint: "(from the fees of the elder's recurring plans; {room} more can be prepaid)",
  allowance_hint: "Allowance left {left} yuan, the government pays {share}% ({by}); the provider's price sets the actual split",
  allowance_hint_none: 'This elder has no allowance: the elder pays the whole fee',
  not_priced_yet: "Priced from the provider's price list once a provider accepts; payment can be taken after that",
  self_pay_total: 'Self-pay', paid_or_waiting: 'Paid or waiting', amount_due: 'Due', take_payment: 'Take payment', take_amount: 'Take {amount}',
  pay_method_label: 'Method', pay_method: { cash: 'Cash', bank_transfer: 'Bank transfer', wechat: 'WeChat Pay QR code' },
  pay_state: { pending: 'Waiting', paid: 'Paid', closed: 'Closed' },
  payment_taken: '{amount} taken', payment_waiting: 'Payment code for {amount} made, waiting for the family to pay',
  qr_label: 'WeChat Pay QR code: {amount}', qr_hint: 'The family scans it with WeChat to pay,', qr_until: 'valid until {time}', qr_missing: 'WeChat Pay has not returned a payment code yet',
  refund: 'Refund', refund_form: 'Refund', refund_amount: 'Refund (yuan)', refund_reason: 'Reason for the refund', confirm_refund: 'Confirm refund', keep_payment: 'Do not refund',
  refunded: '{amount} refunded', refund_done: '{amount} refunded', refund_asked: 'Refund of {amount} asked, waiting for the payment platform',
  amount_invalid: 'Type an amount in yuan with at most two decimals, e.g. 40 or 40.50', refund_reason_required: 'Give a reason for the refund',
  top_up: 'Prepaid top-up', amount_yuan: 'Amount (yuan)', top_up_submit: 'Top up',
  price: 'Price', subsidy_part: 'subsidy', self_pay_part: 'self-pay', created: 'Created', accepted_at: 'Accepted',
  arrived_at: 'Arrived', completed_at: 'Completed', reply_by: 'Reply by', code: 'Code', reason: 'Reason',
  order_entry: {
    requested: 'Order taken', cancelled: 'Order cancelled', failed: 'Order failed', escalated: 'Nobody accepted: escalated',
    followed_up: 'Followed up',
  },
  followups_title: 'Follow-up calls', due_only: 'Due now only', no_followups: 'Nothing to follow up', select_followup: 'Select a follow-up on the left',
  due_at: 'Due', attempts: 'Attempts', subject: 'About', next_attempt: 'Next attempt',
  followup_kind: { order: 'Service order', call: 'Emergency call' },
  reached_q: 'Reached?', reached_yes: 'Reached', reached_no: 'No answer', satisfaction: 'Satisfaction',
  satisfaction_level: { 1: 'Very unhappy', 2: 'Unhappy', 3: 'Neutral', 4: 'Happy', 5: 'Very happy' },
  comment: 'Comment', register_complaint: 'Register a complaint', complaint_text: 'Complaint', record_followup: 'Save follow-up',
  followup_saved: 'Follow-up saved', complaint_created: 'Complaint #{id} registered', satisfaction_required: 'Choose a satisfaction score',
  complaint_required: 'Describe the complaint',
  providers_title: 'Providers', search_providers: 'Search providers (name, phone)', all_statuses: 'All statuses', no_providers: 'No providers',
  provider_status: { pending: 'Pending admission', active: 'Active', suspended: 'Suspended', exited: 'Exited' },
  rating: 'Rating', rating_count: '{n} ratings', review_flag: 'To review', district: 'District', contact_person: 'Contact',
  capacity: 'Jobs at once', status_reason: 'Status note', select_provider: 'Select a provider',
  admission: 'Admission checklist', admission_missing: '{n} not met',
  admission_criterion: {
    legal_registration: 'Legal registration', staff: 'Staff', premises_equipment: 'Premises and equipment',
    service_items: 'Services, content and frequency', marked_prices: 'Published prices', public_commitments: 'Public service commitments',
  },
  met: 'met', not_met: 'not met', not_checked: 'not checked', checked_by: 'checked by',
  known_qualification: { care_worker: 'Elder-care worker\'s certificate' }, edit_qualifications: 'Edit', add_qualification: 'Add',
  qualification_input: 'Licence or certificate', remove_qualification: 'Remove {name}', no_qualifications: 'None recorded',
  staff_qualifications: 'Held by its staff:', hands_on_care_ok: 'Holds the elder-care worker\'s certificate: may nurse and bathe elders at level 3 or worse',
  hands_on_care_missing: 'No elder-care worker\'s certificate: not offered nursing or bathing for elders at level 3 or worse',
  price_list: 'Price list', staff: 'Staff', item: 'Item', unit: 'Unit', qualifications: 'Qualifications', inactive_staff: 'inactive',
  quality: 'Quality (supervisors)', acceptance_rate: 'Acceptance', completion_rate: 'Completion', late_rate: 'Late',
  avg_satisfaction: 'Satisfaction', upheld_complaints: 'Upheld complaints', quality_flags: 'Flags', no_quality: 'No figures yet',
  alerts_title: 'Alerts', alert_ack: 'Mark handled',
  providers_tab: { list: 'Providers', coverage: 'Coverage' },
  provider_action: { admit: 'Admit', suspend: 'Suspend', resume: 'Resume', exit: 'Exit' },
  status_actions: 'Status', status_reason_input: 'Reason (required)',
  admission_refused: 'Cannot admit: these admission criteria are not met yet:', admission_complete: 'Every admission criterion is met',
  admission_missing_list: '{n} not met: {names}', list_sep: '; ',
  record: 'Record', evidence: 'Evidence', evidence_placeholder: 'Evidence seen, e.g. business licence checked',
  coverage_warning_title: 'Coverage broken: these services are now below the district minimum',
  coverage_title: 'Coverage', coverage_rule: 'Every district needs at least {minimum} active providers of meals, medical escort, health care and housekeeping; the service circle is {minutes} minutes',
  coverage_below_minimum: 'below the minimum', coverage_required: 'required', coverage_no_districts: 'No districts yet', no_district: 'No district',
  uncovered_title: 'Elders outside the {minutes}-minute circle, by service type', show_elders: 'Show names', collapse: 'Hide',
  uncovered_more: '{n} more not listed',
  complaint_elder: 'About the elder', complaint_call: 'Call #', complaint_order: 'Order #',
  complaints_title: 'Complaints and suggestions', new_complaint: 'New complaint', complaint_form: 'Register a complaint or suggestion',
  no_complaints: 'No complaints', select_complaint: 'Select a complaint on the left',
  complaint_tab: { pending: 'Pending', overdue: 'Overdue', resolved: 'Resolved' },
  complaint_kind: { complaint: 'Complaint', suggestion: 'Suggestion' },
  complaint_source: { phone: 'Phone', call: 'Emergency call', follow_up: 'Follow-up', care_call: 'Care call', other: 'Other' },
  complaint_target: { provider: 'Provider', agent: 'Agent', service: 'The service' },
  complaint_state: { open: 'Unassigned', assigned: 'Investigating', resolved: 'Resolved' },
  kind: 'Kind', target: 'About', source_label: 'Source', provider_n: 'Provider #{id}', pick_provider: 'Choose the provider',
  complainant: 'Complainant', complainant_name: "Complainant's name", complainant_phone: "Complainant's phone", anonymous: 'No name given',
  assignee: 'Assignee', unassigned: 'Unassigned', due: 'Due', resolved_at: 'Resolved',
  investigation: 'Investigation', no_notes: 'No notes yet', note_added: 'Note added',
  resolve_complaint: 'Resolve', resolution: 'Resolution', upheld: 'Upheld', upheld_yes: 'yes', upheld_no: 'no',
  informed_how: 'Complainant told by', informed: { phone: 'Phone', sms: 'SMS', visit: 'Visit' },
  complaint_resolved: 'Complaint #{id} resolved',
  carecalls_title: "Today's care calls", carecalls_all: 'All care calls to make', show_all_scheduled: 'Show all to make',
  no_carecalls: 'No care calls due today', no_carecalls_all: 'No care calls to make', select_carecall: 'Select an elder on the left',
  cadence: { weekly: 'Weekly', monthly: 'Monthly' }, cadence_label: 'Cadence', due_on: 'Due', today: 'today', period: 'Period',
  channel: 'Channel', care_channel: { phone: 'Phone', video: 'Video', visit: 'Visit' },
  care_assignee: { agent: 'Agent', community_worker: 'Community worker' },
  care_reached_q: 'Was the elder reached?', care_notes: 'Call notes', elder_notes: "Add to the elder's record",
  elder_notes_placeholder: "Goes into the elder's record, e.g. walking is harder lately, needs help bathing",
  elder_record_notes: 'Record notes', attempt_log: 'Attempts', record_carecall: 'Save care call', carecall_done: 'Care call done',
  carecall_escalated: 'Not reached again: handed to the community worker for a visit', carecall_retry: 'Saved: not reached (attempt {n})',
  schedule_carecalls: "Make this week's tasks", scheduled_n: '{n} care calls created',
  // the hotline
  dial: 'Call', dial_hint: 'Rings your phone first, then the number',
  dial_unavailable: 'Cannot call out: no phone line is set up, or your seat has no phone. Log the call by hand.',
  dial_refused: {
    voice_not_configured: 'Cannot call out: no phone line is set up. Log the call by hand.',
    no_agent_phone: 'Cannot call out: your seat has no phone number. Log the call by hand.',
    already_on_call: 'Cannot call out: you are already on a call.',
  },
  log_call: 'Log a phone call', log_save: 'Save the call', log_saved: 'Phone call #{id} saved', number_unknown: 'No elder has this number; saving identifies the caller by number',
  log_field: { number: 'Number', direction: 'Direction', category: 'About', outcome: 'Outcome', talk_time: 'Talk time', note: 'Note' },
  seconds: 's',
  phone_direction: { inbound: 'Inbound', outbound: 'Outbound' },
  phone_category: {
    emergency: 'Emergency', home_service: 'Home service', enquiry: 'Enquiry', complaint: 'Complaint', follow_up: 'Follow-up',
    care_call: 'Care call', emotional_support: 'Emotional support', other: 'Other',
  },
  phone_outcome: { answered: 'Answered', abandoned: 'Hung up waiting', no_answer: 'No answer', busy: 'Busy', failed: 'Failed' },
  phone_state: { menu: 'Menu', queued: 'Waiting', ringing: 'Ringing', talking: 'Talking', ended: 'Ended' },
  phone_link: { call_id: 'Call', order_id: 'Order', follow_up_id: 'Follow-up', care_call_id: 'Care call', complaint_id: 'Complaint' },
  caller_kind: { elder: 'The elder', device: "Elder's device", contact: 'Contact', provider: 'Provider', staff: 'Staff', unknown: 'Unknown number' },
  agent_state: { ready: 'Ready', ringing: 'Ringing', on_call: 'On a call', wrap_up: 'Wrap-up', away: 'Away', offline: 'Offline' },
  agent_state_label: 'Seat state', agent_state_change: 'Change…',
  role: { agent: 'Agent', supervisor: 'Supervisor', admin: 'Admin', assessor: 'Assessor' },
  content_lang: 'en', all: 'All', loading: 'Loading…', updated: 'Updated', overdue_only: 'Overdue only',
  assessments_title: 'Ability assessments', new_assessment: 'New application', assessment_state_filter: 'Step', no_assessments: 'No assessments',
  select_assessment: 'Pick an assessment to see it', assessment_created: 'Application {id} registered', assessment_n: 'Assessment {id}', open_assessment_n: 'Open assessment {id}',
  assessment_procedure_label: 'Procedure', assessment_procedure: { standard: 'Standard', simplified: 'Simplified', reassessment: 'Re-assessment' },
  ability_level_label: 'Ability level', from_call: '(from call {id})', applicant: 'Applicant', applicant_name: "Applicant's name",
  applicant_phone: "Applicant's phone", applicant_kind: { elder: 'The elder', family: 'A family member living with them', community: 'The residents\' committee on their behalf' },
  materials_handed_in: 'Materials handed in', materials_missing: 'Materials missing',
  material: { application_form: 'Application form', identity_documents: 'Copies of ID card and household register', proof_of_situation: 'Proof of allowance, hardship or disability' },
  assessment_moved: 'Assessment {id} is now at "{step}"', due_provisional: 'counted Monday to Friday until the holiday schedule is out', allowance: 'Care allowance',
  yuan_a_month: '{yuan} yuan a month', assessment_note: 'Opinion / reason', materials_complete: 'Materials complete: accept', mark_verified: 'Verified',
  mark_organised: 'Hand to the assessment agency', propose_subsidy: 'Propose the allowance: public notice', refuse_subsidy: 'No allowance (tell in writing)', make_final: 'Make final',
  withdraw: 'Withdraw', assessment_report: 'Assessment report (PDF)', object_reassess: 'Objection: ask for a re-assessment', reassessment_created: 'Re-assessment registered',
  plans_made: '{n} service plan(s) made', service_plan: 'Service plan', no_plan_needed: 'No services needed at this level', per_week: '{n} a week',
  asked_for: 'asked for', make_plans: 'Make the service plans', assessor_title: 'Ability assessment · assessor', to_assess: 'To assess',
  answered_of: '{n} of {total} answered', points: '{n} pt', level_changes: 'What changes the level', needs: 'Service needs',
  save_status: { loading: 'Loading…', saved: 'Saved', saving: 'Saving…', unsaved: 'Not saved yet', offline: 'Offline: kept on this device, saved when back', conflict: 'Changed by someone else: go back and open it again', error: 'Could not save' },
  finding: { coma: 'In a coma', dementia: 'Diagnosed dementia (F00-F03)', mental_disorder: 'Other mental disorder diagnosed by a psychiatrist (F04-F99)', risk_events_30d: 'Care-risk events in the last 30 days' },
  needs_field: { living: 'Living situation', carer: 'Cared for now by', economic: 'Economic situation' },
  needs_living: { alone_without_family: 'Alone, no family', alone: 'Alone', with_spouse: 'With spouse', with_children: 'With children', with_relatives_or_friends: 'With relatives or friends' },
  needs_carer: { nobody: 'Nobody', spouse: 'Spouse', children: 'Children', other_relative: 'Another relative', paid_carer: 'A paid carer', neighbour_or_volunteer: 'Neighbours or volunteers' },
  needs_economic: { subsistence_allowance: 'Subsistence allowance', extreme_poverty: 'Extreme hardship', low_income: 'Low income', ordinary: 'Ordinary' },
  sign_assessment: 'Sign and submit', assessment_complete: 'Assessment {id} complete (both assessors signed)', first_signature: 'Assessment {id} signed: waiting for the second assessor',
  phone_panel: 'Phone', phone_stage: { ringing: 'Incoming call', dialling: 'Calling out', talking: 'On the line', ended: 'Call ended' },
  caller_loading: "Reading the caller's record…", unknown_number: 'Unknown number', elder_on_the_line: "Call from the elder's device: elder on the line",
  dialect: 'Dialect', open_calls: 'Open calls', open_orders: 'Open orders', recent_contacts: 'Last 5 contacts',
  recent_kind: { phone_call: 'Phone', call: 'Alarm call' },
  pick_up_hint: 'Pick up your phone to answer', answer: 'Answer', open_record: 'Open the record',
  answer_opens: {
    emergency: 'open the call', home_service: 'new service order', enquiry: 'note the enquiry', complaint: 'register a complaint',
    follow_up: 'note it', care_call: 'note it', emotional_support: 'note it', other: 'note it',
  },
  new_contact: 'New phone contact', new_contact_hint: 'Log a phone contact: the right record opens for its kind (a call for an emergency, an order for home service, a complaint)',
  contact_saved: { emergency: 'Phone contact logged and call #{id} opened', home_service: 'Phone contact logged: fill in the service order', complaint: 'Phone contact logged: fill in the complaint',
    enquiry: 'Enquiry #{id} logged', emotional_support: 'Emotional-support call #{id} logged' },
  enquiry_note: 'What the caller asked', phone_call_reason: 'Phone call from {number}', pick_elder_first: 'Find and pick the elder above first',
  hold: 'Hold', resume: 'Resume', on_hold: 'on hold', mute: 'Mute', unmute: 'Unmute', hang_up: 'Hang up',
  add_party: 'Add a party', add_party_provider: 'Choose a provider', add_party_120: 'Add 120', add_party_number: 'Type a number',
  add_party_go: 'Call', party_added: 'Calling the party into the call', transfer: 'Transfer', transfer_to: 'Transfer to',
  no_agents: 'No other agents', transferred: 'Transferred', wrap_up_left: 'Wrap-up left', ready_again: 'Done: ready',
  close_panel: 'Close', expand: 'Expand',
  phone_title: 'Phone calls', no_phone_calls: 'No phone calls', my_calls: 'Mine only', all_directions: 'Both directions', more: 'More',
  phone_filter: { direction: 'Filter by direction', state: 'Filter by state' },
  phone_col: {
    time: 'Time', direction: 'Direction', number: 'Number', caller: 'Caller', category: 'About', outcome: 'Outcome', agent: 'Agent',
    wait: 'Wait', talk: 'Talk', note: 'Note', recording: 'Recording',
  },
  by_hand: 'logged', recording_audited: 'Playing a recording is written to the audit log',
  recording_state: { pending: 'Processing', stored: 'Stored', failed: 'Could not fetch', deleted: 'Deleted (retention)' },
  callbacks_title: 'Call back (hung up while waiting)', no_callbacks: 'Nobody to call back', callback_done: 'Called back',
  callback_marked_done: 'Marked as called back', callback_alarm_open: 'This elder has an open alarm call: ring back first', ring_back: 'Ring back',
  wallboard: {
    title: 'Wallboard', today: 'Today', refreshed: 'updated', waiting_now: 'Waiting now', longest_wait: 'Longest wait',
    offered: 'Offered', answered: 'Answered', abandoned: 'Abandoned', average_handle: 'Average handle time', within: 'Answered within {s} s',
    target: 'target', agents: 'Agents',
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

/** Why a job found nobody or an order went back to the agents, in the UI's language (the server's English
 * sentence only for a reason stored before reasons had codes). */
export function reasonText(t, code, params, fallback = '') {
  return code ? t(`reasons.${code}`, params || {}) : fallback;
}

/** What went wrong, in the UI's language: the specific case when the console knows it, else what the error's
 * code means (the server's English message is for API readers and the log, never shown). */
export function errorText(err, t) {
  if (err?.reason && knows(t, `errors.reasons.${err.reason}`)) return t(`errors.reasons.${err.reason}`, localisedParams(err.params, t));
  if (err?.code) return t(`errors.codes.${err.code}`);
  if (err?.status) return t('errors.codes.error');
  return t('errors.network');
}

function knows(t, key) {
  return t(key) !== key.split('.').pop();
}

/** An error's parameters that are codes themselves (states, a service type), said in the UI's language. */
const PARAM_DICTIONARIES = {
  from: 'state', to: 'state', state: 'order_state', agent_state: 'agent_state', service_type: 'service',
  from_step: 'assessment_step', to_step: 'assessment_step', open_step: 'assessment_step',
};

function localisedParams(params, t) {
  return Object.fromEntries(Object.entries(params || {}).map(([name, value]) => [name, localisedParam(name, value, t)]));
}

/** One parameter: a code in the UI's language, an amount in fen (`*_fen`) in yuan. */
function localisedParam(name, value, t) {
  if (PARAM_DICTIONARIES[name]) return t(`${PARAM_DICTIONARIES[name]}.${value}`);
  if (name.endsWith('_fen') && Number.isInteger(value)) return yuan(value);
  return value;
}

/** An alert in the UI's language, from its kind and detail (the stored text, written in Chinese for the
 * log and the API, only for a kind the console does not know). */
export function alertText(alert, t) {
  const key = `alert_text.${alert.kind}`;
  if (!knows(t, key)) return alert.text;
  const d = alert.detail || {};
  const text = t(key, {
    ...d,
    service: d.service_type ? t(`service.${d.service_type}`) : '',
    category: d.category ? t(`phone_category.${d.category}`) : '',
    event: d.event_type ? t(`event_type.${d.event_type}`) : '',
    flags: (d.flags || []).map((f) => t(`quality_flag.${f}`)).join(t('list_separator')),
    assigned: d.assigned_name || t('unassigned'),
    step: d.step ? t(`assessment_step.${d.step}`) : '',
    owner: d.owner ? t(`assessment_owner.${d.owner}`) : '{owner}', // none stored: the stored text is said
    why_again: (d.reasons || []).map((r) => t(`reassessment_reason.${r}`)).join(t('list_separator')),
    why: d.reason_code ? reasonText(t, d.reason_code, d, d.reason) : '',
  });
  return /\{\w+\}/.test(text) ? alert.text : text; // an alert stored before its detail named everything
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


function shanghaiParts(iso) {
  return Object.fromEntries(
    format('en-GB', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso)).map((part) => [part.type, part.value]),
  );
}

/** A service window, "11-24 09:00–11:00" in Shanghai time ("11-24 22:00–11-25 01:00" across midnight). */
export function formatWindow(startIso, endIso) {
  const start = shanghaiParts(startIso);
  const end = shanghaiParts(endIso);
  const sameDay = start.month === end.month && start.day === end.day;
  const until = sameDay ? `${end.hour}:${end.minute}` : `${end.month}-${end.day} ${end.hour}:${end.minute}`;
  return `${start.month}-${start.day} ${start.hour}:${start.minute}–${until}`;
}

/** The Shanghai calendar date ("2026-03-02") of an instant, or of now plus some days. */
export function localDate(iso) {
  const parts = shanghaiParts(iso);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function localToday(plusDays = 0) {
  return localDate(new Date(Date.now() + plusDays * 86_400_000).toISOString());
}

/** The month before a Shanghai date's ("2026-01-15" → "2025-12"), written as the server takes a month. */
export function previousMonth(date = localToday()) {
  const [year, month] = date.split('-').map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/** A Shanghai wall-clock date and time ("2026-03-03", "09:00") as a UTC ISO instant; Shanghai has no DST. */
export function localToUtc(date, time) {
  return new Date(`${date}T${time}:00+08:00`).toISOString();
}

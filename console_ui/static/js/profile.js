// An elder's profile card: identity, home, who they live with, health, and the numbers to ring them on.

import { html } from '../vendor/htm/preact/standalone.module.js';
import { PhoneNumber } from './phone.js';

export function Profile({ elder, callId, t }) {
  if (!elder) return null;
  const health = elder.health || {};
  const list = (items) => (items && items.length ? items.join('、') : t('none'));
  const medications = (health.medications || []).map((m) => [m.name, m.dosage, m.frequency].filter(Boolean).join(' '));
  // A phone or watch SIM the elder can be rung on, when the record has no phone of its own (or another one).
  const devicePhones = (elder.devices || []).filter((d) => d.phone && d.phone !== elder.phone && d.status === 'active');
  return html`
    <section class="card profile" aria-label=${t('profile')}>
      <div class="photo" aria-hidden="true" translate=${false}>${elder.name.slice(0, 1)}</div>
      <div>
        <h3 class="profile-name"><span translate=${false}>${elder.name}</span> <small>${t(`sex.${elder.sex}`)} · ${elder.age}${t('age')}</small></h3>
        <div class="tags">
          ${elder.living_alone && html`<span class="tag">${t('living_alone')}</span>`}
          ${elder.empty_nest && html`<span class="tag">${t('empty_nest')}</span>`}
        </div>
        <dl>
          <dt>${t('phone')}</dt><dd>${elder.phone ? html`<${PhoneNumber} number=${elder.phone} links=${{ call_id: callId }} t=${t} />` : !devicePhones.length && t('none')}</dd>
          ${devicePhones.map((d) => html`<dt key=${`dt-${d.id}`}>${t(`device_phone.${d.kind}`)}</dt>
            <dd key=${`dd-${d.id}`} data-testid="device-phone"><${PhoneNumber} number=${d.phone} links=${{ call_id: callId }} t=${t} /></dd>`)}
          <dt>${t('address')}</dt><dd translate=${false}>${elder.address}</dd>
          <dt>${t('community')}</dt><dd translate=${false}>${elder.district} ${elder.street} ${elder.community}</dd>
          <dt>${t('dialect')}</dt><dd data-testid="profile-dialect" translate=${!elder.dialect}>${elder.dialect || t('none')}</dd>
          <dt>${t('lives_with')}</dt><dd data-testid="profile-lives-with" translate=${elder.living_alone}>${livesWith(elder, t)}</dd>
          <dt>${t('physical_condition')}</dt><dd data-testid="profile-physical" translate=${!elder.physical_condition}>${elder.physical_condition || t('none')}</dd>
          <dt>${t('hobbies')}</dt><dd translate=${!elder.hobbies?.length}>${list(elder.hobbies)}</dd>
          <dt>${t('subsidy_category')}</dt><dd>${list((elder.subsidy_categories || []).map((c) => t(`subsidy.${c}`)))}</dd>
          <dt>${t('conditions')}</dt><dd translate=${!health.conditions?.length}>${list(health.conditions)}</dd>
          <dt>${t('medications')}</dt><dd translate=${!medications.length}>${list(medications)}</dd>
          <dt>${t('allergies')}</dt><dd translate=${!health.allergies?.length} class=${health.allergies?.length ? 'warn' : ''}>${list(health.allergies)}</dd>
          <dt>${t('ability')}</dt><dd>${dictionaryValue(t, 'ability_level', health.self_care_ability ?? 0)}</dd>
          <dt>${t('blood_type')}</dt><dd>${health.blood_type || '-'}</dd>
        </dl>
      </div>
    </section>`;
}

/** Who the elder lives with, from the household members marked as living with them. */
function livesWith(elder, t) {
  if (elder.living_alone) return t('living_alone');
  const members = (elder.household || []).filter((m) => m.lives_with_elder);
  return members.length ? members.map((m) => `${m.name}（${m.relation}）`).join('、') : t('none');
}

function dictionaryValue(t, group, index) {
  const values = t(group);
  return Array.isArray(values) ? values[index] : index;
}

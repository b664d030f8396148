// Survey editor of the canyu staff console. Holds the draft (the API's SurveyBody) in memory,
// renders a form for it, and saves it as JSON with the session's CSRF token in a header. The
// phone preview applies `visible_if` the way the server does on submission: in order, with
// the answers of hidden questions left out.

const root = document.getElementById('editor');
const csrf = root.dataset.csrf;
const surveyId = root.dataset.surveyId;
const preview = document.getElementById('preview');

const TYPES = [
  ['single', '单选'], ['multi', '多选'], ['dropdown', '下拉选择'], ['text', '文字'],
  ['number', '数字'], ['scale', '量表打分'], ['matrix', '矩阵'], ['ranking', '排序'],
  ['date', '日期'], ['region', '街道与社区'], ['note', '说明文字'],
];
const TYPE_NAME = Object.fromEntries(TYPES);
const CHOICE = ['single', 'multi', 'dropdown'];
const WITH_OPTIONS = ['single', 'multi', 'dropdown', 'matrix', 'ranking'];
const OPS = {
  eq: '等于', ne: '不等于', gt: '大于', gte: '大于等于', lt: '小于', lte: '小于等于',
  selected_any: '选中任一', selected_all: '全部选中', contains: '包含',
  answered: '已作答', empty: '未作答',
};

function opsFor(type) {
  switch (type) {
    case 'single': case 'dropdown': return ['eq', 'ne', 'selected_any', 'answered', 'empty'];
    case 'multi': return ['selected_any', 'selected_all', 'contains', 'answered', 'empty'];
    case 'number': case 'scale': case 'date': return ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'answered', 'empty'];
    case 'text': return ['eq', 'ne', 'contains', 'answered', 'empty'];
    default: return ['answered', 'empty'];
  }
}

const loaded = JSON.parse(document.getElementById('survey-data').textContent);
const body = loaded || {
  title: '', org_unit: root.dataset.orgUnit, audience: [], anonymous: false,
  keep_informed: false, pages: [{ id: 'p1', questions: [] }],
};
if (!body.pages || body.pages.length === 0) body.pages = [{ id: 'p1', questions: [] }];

let uid = 0;
let rendered = false;
const nextId = () => `f${++uid}`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = true;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A labelled input bound to obj[key]. kind: text | textarea | number | date | check.
function field(label, obj, key, kind = 'text', extra = {}) {
  const id = extra.id || nextId();
  const onChange = extra.onchange;
  delete extra.onchange;
  if (kind === 'check') {
    return el('label', { class: 'check', for: id },
      el('input', { type: 'checkbox', id, checked: !!obj[key], ...extra,
        onchange: (ev) => { obj[key] = ev.target.checked; (onChange || changed)(); } }),
      label);
  }
  const read = (v) => {
    if (kind === 'number') return v === '' ? undefined : Number(v);
    return v === '' ? undefined : v;
  };
  const input = kind === 'textarea'
    ? el('textarea', { id, ...extra }, obj[key] ?? '')
    : el('input', { type: kind, id, value: obj[key] ?? '', ...extra });
  input.addEventListener('input', (ev) => {
    const v = read(ev.target.value);
    if (v === undefined || Number.isNaN(v)) delete obj[key]; else obj[key] = v;
    (onChange || changed)();
  });
  return el('div', {}, el('label', { for: id }, label), input);
}

function allQuestions() {
  return body.pages.flatMap((p) => p.questions);
}

function freeId(prefix, taken) {
  let n = 1;
  while (taken.includes(`${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

function defaultsFor(type, old = {}) {
  const options = old.options && old.options.length ? old.options.map((o) => ({ id: o.id, label: o.label }))
    : [{ id: 'o1', label: '选项1' }, { id: 'o2', label: '选项2' }];
  switch (type) {
    case 'single': case 'dropdown': case 'multi': case 'ranking': return { options };
    case 'matrix': return { rows: [{ id: 'r1', label: '第一行' }], options };
    case 'text': return { long: false };
    case 'number': return { integer: false };
    case 'scale': return { min: 1, max: 5 };
    default: return {};
  }
}

const COMMON = ['id', 'title', 'description', 'required', 'visible_if', 'type'];
function setType(q, type) {
  const fresh = defaultsFor(type, q);
  for (const k of Object.keys(q)) if (!COMMON.includes(k)) delete q[k];
  Object.assign(q, fresh, { type });
  if (type === 'note') q.required = false;
}

// ---- conditions -------------------------------------------------------------------------

function parseCond(c) {
  if (!c) return { mode: 'all', rules: [] };
  if (c.q !== undefined) return { mode: 'all', rules: [c] };
  const list = c.all || c.any;
  if (list && list.every((x) => x.q !== undefined)) return { mode: c.all ? 'all' : 'any', rules: list };
  return null; // nested groups or "not": kept as they are, not editable here
}

function storeCond(q, mode, rules) {
  if (rules.length === 0) delete q.visible_if;
  else if (rules.length === 1 && mode === 'all') q.visible_if = rules[0];
  else q.visible_if = { [mode]: rules };
}

function defaultValue(ref, op) {
  if (!ref || op === 'answered' || op === 'empty') return undefined;
  const first = ref.options && ref.options[0] ? ref.options[0].id : '';
  if (op === 'selected_any' || op === 'selected_all') return first ? [first] : [];
  if (CHOICE.includes(ref.type)) return first;
  if (ref.type === 'number' || ref.type === 'scale') return ref.min ?? 0;
  return '';
}

function conditionEditor(q, earlier) {
  const parsed = parseCond(q.visible_if);
  const box = el('fieldset', { class: 'condition' }, el('legend', {}, '显示条件'));
  if (!parsed) {
    box.append(el('p', { class: 'muted' }, '此题的条件较复杂（嵌套或取反），在此保持不变。'),
      el('button', { type: 'button', onclick: () => { delete q.visible_if; render(); } }, '清除条件'));
    return box;
  }
  const { mode, rules } = parsed;
  const candidates = earlier.filter((x) => x.type !== 'note');
  if (rules.length === 0) box.append(el('p', { class: 'muted' }, '始终显示。'));
  if (rules.length > 1) {
    const id = nextId();
    box.append(el('div', {}, el('label', { for: id }, '多个条件之间'),
      el('select', { id, class: 'cond-mode', onchange: (ev) => { storeCond(q, ev.target.value, rules); changed(); } },
        el('option', { value: 'all', selected: mode === 'all' }, '全部满足（并且）'),
        el('option', { value: 'any', selected: mode === 'any' }, '满足任一（或者）'))));
  }
  rules.forEach((rule, i) => {
    const ref = candidates.find((x) => x.id === rule.q);
    const qid = nextId(); const oid = nextId(); const vid = nextId();
    const update = (structural) => { storeCond(q, mode, rules); if (structural) render(); else changed(); };
    const qSel = el('select', { id: qid, class: 'rule-q', onchange: (ev) => {
      rule.q = ev.target.value;
      const r = candidates.find((x) => x.id === rule.q);
      rule.op = opsFor(r && r.type)[0];
      const v = defaultValue(r, rule.op); if (v === undefined) delete rule.v; else rule.v = v;
      update(true);
    } }, el('option', { value: '' }, '请选择题目'),
    candidates.map((x) => el('option', { value: x.id, selected: x.id === rule.q }, `${x.id}：${x.title || '（无标题）'}`)));
    const ops = opsFor(ref && ref.type);
    const opSel = el('select', { id: oid, class: 'rule-op', onchange: (ev) => {
      rule.op = ev.target.value;
      const v = defaultValue(ref, rule.op); if (v === undefined) delete rule.v; else rule.v = v;
      update(true);
    } }, ops.map((o) => el('option', { value: o, selected: o === rule.op }, OPS[o])));
    let valueBox;
    if (rule.op === 'answered' || rule.op === 'empty' || !ref) {
      valueBox = el('div', {}, el('span', { class: 'muted' }, '（无需比较值）'));
    } else if (rule.op === 'selected_any' || rule.op === 'selected_all') {
      const chosen = Array.isArray(rule.v) ? rule.v : [];
      valueBox = el('div', { role: 'group', 'aria-label': '比较的选项', class: 'values' },
        (ref.options || []).map((o) => {
          const cid = nextId();
          return el('label', { class: 'check', for: cid }, el('input', { type: 'checkbox', id: cid, class: 'rule-vopt', value: o.id,
            checked: chosen.includes(o.id), onchange: (ev) => {
              const set = new Set(Array.isArray(rule.v) ? rule.v : []);
              if (ev.target.checked) set.add(o.id); else set.delete(o.id);
              rule.v = (ref.options || []).map((x) => x.id).filter((x) => set.has(x));
              update(false);
            } }), o.label);
        }));
    } else if (CHOICE.includes(ref.type)) {
      valueBox = el('div', {}, el('label', { for: vid }, '选项'),
        el('select', { id: vid, class: 'rule-v', onchange: (ev) => { rule.v = ev.target.value; update(false); } },
          (ref.options || []).map((o) => el('option', { value: o.id, selected: o.id === rule.v }, o.label))));
    } else {
      const kind = ref.type === 'date' ? 'date' : (ref.type === 'number' || ref.type === 'scale') ? 'number' : 'text';
      valueBox = el('div', {}, el('label', { for: vid }, '值'),
        el('input', { id: vid, class: 'rule-v', type: kind, value: rule.v ?? '', oninput: (ev) => {
          rule.v = kind === 'number' ? Number(ev.target.value) : ev.target.value; update(false);
        } }));
    }
    box.append(el('div', { class: 'rule' },
      el('div', {}, el('label', { for: qid }, '当题目'), qSel),
      el('div', {}, el('label', { for: oid }, '运算'), opSel),
      valueBox,
      el('button', { type: 'button', class: 'danger', 'aria-label': `删除第 ${i + 1} 个条件`,
        onclick: () => { rules.splice(i, 1); storeCond(q, mode, rules); render(); } }, '删除')));
  });
  box.append(el('button', { type: 'button', class: 'add-rule', disabled: candidates.length === 0,
    onclick: () => {
      const ref = candidates[candidates.length - 1];
      const op = opsFor(ref.type)[0];
      const rule = { q: ref.id, op };
      const v = defaultValue(ref, op); if (v !== undefined) rule.v = v;
      storeCond(q, mode, [...rules, rule]);
      render(`.qcard[data-qid="${q.id}"] .rule:last-of-type .rule-q`);
    } }, candidates.length === 0 ? '前面没有可作条件的题目' : '添加条件'));
  return box;
}

// ---- questions --------------------------------------------------------------------------

function listEditor(q, key, noun, prefix) {
  const items = q[key];
  const box = el('fieldset', { class: `${key}-list` }, el('legend', {}, noun));
  items.forEach((o, i) => {
    const id = nextId();
    const row = el('div', { class: 'opt' },
      el('label', { for: id, class: 'sr' }, `${noun} ${i + 1}`),
      el('input', { type: 'text', id, class: key === 'rows' ? 'row-label' : 'opt-label', value: o.label,
        oninput: (ev) => { o.label = ev.target.value; changed(); } }),
      el('span', { class: 'muted' }, o.id));
    if (key === 'options' && CHOICE.includes(q.type)) {
      if (q.type === 'multi') row.append(field('互斥', o, 'exclusive', 'check'));
      row.append(field('「其他」可填写', o, 'other', 'check'));
    }
    row.append(
      el('button', { type: 'button', 'aria-label': `上移${noun} ${i + 1}`, disabled: i === 0,
        onclick: () => { items.splice(i - 1, 0, items.splice(i, 1)[0]); render(); } }, '↑'),
      el('button', { type: 'button', class: 'danger', 'aria-label': `删除${noun} ${i + 1}`,
        onclick: () => { items.splice(i, 1); render(); } }, '删除'));
    box.append(row);
  });
  box.append(el('button', { type: 'button', class: key === 'rows' ? 'add-row' : 'add-option', onclick: () => {
    const nid = freeId(prefix, items.map((x) => x.id));
    items.push({ id: nid, label: '' });
    render(`.qcard[data-qid="${q.id}"] .${key}-list .opt:last-of-type input[type=text]`);
  } }, `添加${noun}`));
  return box;
}

function typeFields(q) {
  const parts = [];
  if (WITH_OPTIONS.includes(q.type)) {
    if (q.type === 'matrix') parts.push(listEditor(q, 'rows', '行', 'r'));
    parts.push(listEditor(q, 'options', '选项', 'o'));
  }
  switch (q.type) {
    case 'multi':
      parts.push(el('div', { class: 'row2' }, field('最少选几项', q, 'min_select', 'number', { min: 0 }),
        field('最多选几项', q, 'max_select', 'number', { min: 1 })));
      break;
    case 'matrix': parts.push(field('每行可多选', q, 'multiple', 'check')); break;
    case 'ranking': parts.push(field('只排前几项（留空为全部）', q, 'top_k', 'number', { min: 1 })); break;
    case 'text': {
      const fid = nextId();
      parts.push(field('多行文字', q, 'long', 'check'),
        el('div', { class: 'row3' }, field('最少字数', q, 'min_len', 'number', { min: 0 }),
          field('最多字数', q, 'max_len', 'number', { min: 1 }),
          el('div', {}, el('label', { for: fid }, '格式'),
            el('select', { id: fid, onchange: (ev) => { if (ev.target.value) q.format = ev.target.value; else delete q.format; changed(); } },
              [['', '不限'], ['mobile', '手机号'], ['id_card', '身份证号'], ['email', '电子邮箱']]
                .map(([v, t]) => el('option', { value: v, selected: (q.format || '') === v }, t))))),
        field('正则表达式（可选）', q, 'pattern'));
      break;
    }
    case 'number':
      parts.push(el('div', { class: 'row3' }, field('最小值', q, 'min', 'number', { class: 'q-min' }), field('最大值', q, 'max', 'number'),
        field('步长', q, 'step', 'number', { min: 0 })), field('只收整数', q, 'integer', 'check'));
      break;
    case 'scale':
      parts.push(field('NPS 推荐度（0 到 10 分）', q, 'nps', 'check', { class: 'q-nps', onchange: () => {
        if (q.nps) { q.min = 0; q.max = 10; }
        render();
      } }));
      if (!q.nps) {
        parts.push(el('div', { class: 'row2' }, field('最低分', q, 'min', 'number'), field('最高分', q, 'max', 'number')));
      }
      parts.push(el('div', { class: 'row2' }, field('最低分说明', q, 'min_label'), field('最高分说明', q, 'max_label')));
      break;
    case 'date':
      parts.push(el('div', { class: 'row2' }, field('最早日期', q, 'min', 'date'), field('最晚日期', q, 'max', 'date')));
      break;
    default: break;
  }
  return parts;
}

function questionCard(q, page, index, earlier) {
  const tid = nextId();
  return el('section', { class: 'card qcard', 'data-qid': q.id, 'aria-label': `第 ${index + 1} 题` },
    el('header', {},
      el('span', { class: 'qno' }, `第 ${index + 1} 题`),
      el('span', { class: 'badge' }, TYPE_NAME[q.type] || q.type),
      el('span', { class: 'muted' }, `编号 ${q.id}`),
      el('span', { style: 'flex:1' }),
      el('button', { type: 'button', 'aria-label': `上移第 ${index + 1} 题`, disabled: index === 0,
        onclick: () => { const l = page.questions; const i = l.indexOf(q); l.splice(i - 1, 0, l.splice(i, 1)[0]); render(); } }, '上移'),
      el('button', { type: 'button', class: 'danger', 'aria-label': `删除第 ${index + 1} 题`,
        onclick: () => { page.questions.splice(page.questions.indexOf(q), 1); render('#add-type'); } }, '删除')),
    el('div', { class: 'row2' },
      el('div', {}, el('label', { for: tid }, '题型'),
        el('select', { id: tid, class: 'q-type', onchange: (ev) => { setType(q, ev.target.value); render(); } },
          TYPES.map(([v, t]) => el('option', { value: v, selected: v === q.type }, t)))),
      q.type === 'note' ? el('div') : el('div', { style: 'align-self:end' }, field('必答', q, 'required', 'check'))),
    field(q.type === 'note' ? '说明文字' : '题目', q, 'title', 'text', { class: 'q-title', required: true }),
    field('补充说明（可选）', q, 'description'),
    typeFields(q),
    conditionEditor(q, earlier));
}

function settings() {
  return el('section', { class: 'card', 'aria-labelledby': 'h-settings' },
    el('h2', { id: 'h-settings' }, '基本信息'),
    field('问卷标题', body, 'title', 'text', { id: 's-title', required: true, maxlength: 200 }),
    field('问卷说明', body, 'description', 'textarea', { id: 's-desc' }),
    el('div', { class: 'row2' },
      field('负责单位代码', body, 'org_unit', 'text', { id: 's-org', required: true }),
      field('回收上限（可选）', body, 'max_responses', 'number', { id: 's-max', min: 1 })),
    (() => {
      const id = 's-audience';
      return el('div', {}, el('label', { for: id }, '面向街道（街道代码，用逗号分隔；留空为全区）'),
        el('input', { type: 'text', id, value: (body.audience || []).join(','), oninput: (ev) => {
          body.audience = ev.target.value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean); changed();
        } }));
    })(),
    field('匿名收集（答卷不与居民关联）', body, 'anonymous', 'check', { id: 's-anon' }),
    field('允许居民订阅结果反馈', body, 'keep_informed', 'check', { id: 's-keep' }));
}

function render(focusSelector) {
  if (rendered) dirty = true;
  rendered = true;
  uid = 0;
  const active = document.activeElement && document.activeElement.id;
  root.replaceChildren();
  root.append(settings());
  const seen = [];
  body.pages.forEach((page, pi) => {
    const pageBox = el('section', { class: 'page', 'aria-label': `第 ${pi + 1} 页` });
    if (body.pages.length > 1) pageBox.append(el('h2', {}, `第 ${pi + 1} 页`));
    page.questions.forEach((q) => {
      pageBox.append(questionCard(q, page, seen.length, [...seen]));
      seen.push(q);
    });
    root.append(pageBox);
  });
  const last = body.pages[body.pages.length - 1];
  root.append(el('section', { class: 'card', 'aria-label': '添加题目' },
    el('div', { class: 'opt' },
      el('label', { for: 'add-type' }, '新题题型'),
      el('select', { id: 'add-type' }, TYPES.map(([v, t]) => el('option', { value: v }, t))),
      el('button', { type: 'button', id: 'add-question', class: 'primary', onclick: () => {
        const type = document.getElementById('add-type').value;
        const q = { id: freeId('q', allQuestions().map((x) => x.id)), title: '', required: type !== 'note' };
        setType(q, type);
        q.type = type;
        last.questions.push(q);
        render(`.qcard[data-qid="${q.id}"] .q-title`);
      } }, '添加题目'),
      el('button', { type: 'button', id: 'add-page', onclick: () => {
        body.pages.push({ id: freeId('p', body.pages.map((p) => p.id)), questions: [] });
        render('#add-type');
      } }, '新增一页'))),
  el('div', { class: 'card' },
    el('button', { type: 'button', id: 'save', class: 'primary', onclick: save }, '保存草稿'),
    el('div', { id: 'save-status', role: 'status', 'aria-live': 'polite' })));
  const target = focusSelector ? root.querySelector(focusSelector) : (active && document.getElementById(active));
  if (target) target.focus();
  buildPreview();
}

let dirty = false;

function changed() {
  dirty = true;
  buildPreview();
}

// ---- preview ----------------------------------------------------------------------------

const answers = {};

function present(a) {
  return a !== undefined && a !== '' && !(Array.isArray(a) && a.length === 0) && !Number.isNaN(a);
}

function holds(c, given) {
  if (c.all) return c.all.every((x) => holds(x, given));
  if (c.any) return c.any.some((x) => holds(x, given));
  if (c.not) return !holds(c.not, given);
  const a = given[c.q];
  if (c.op === 'answered') return present(a);
  if (c.op === 'empty') return !present(a);
  if (!present(a)) return c.op === 'ne';
  const chosen = Array.isArray(a) ? a : [a];
  switch (c.op) {
    case 'eq': return typeof a === 'number' ? Math.abs(a - Number(c.v)) < 1e-9 : a === c.v;
    case 'ne': return typeof a === 'number' ? Math.abs(a - Number(c.v)) >= 1e-9 : a !== c.v;
    case 'gt': return a > c.v; case 'gte': return a >= c.v;
    case 'lt': return a < c.v; case 'lte': return a <= c.v;
    case 'selected_any': return (c.v || []).some((x) => chosen.includes(x));
    case 'selected_all': return (c.v || []).every((x) => chosen.includes(x));
    case 'contains': return Array.isArray(a) ? a.includes(c.v) : String(a).includes(c.v);
    default: return false;
  }
}

function applyVisibility() {
  const given = {};
  for (const q of allQuestions()) {
    const box = preview.querySelector(`[data-pq="${CSS.escape(q.id)}"]`);
    const visible = !q.visible_if || holds(q.visible_if, given);
    if (box) box.hidden = !visible;
    if (visible && present(answers[q.id])) given[q.id] = answers[q.id];
  }
}

function previewInput(q) {
  const name = `pv-${q.id}`;
  const set = (v) => { if (present(v)) answers[q.id] = v; else delete answers[q.id]; applyVisibility(); };
  const opts = q.options || [];
  switch (q.type) {
    case 'single':
      return opts.map((o) => el('label', { class: 'check' }, el('input', { type: 'radio', name, value: o.id,
        checked: answers[q.id] === o.id, onchange: () => set(o.id) }), o.label));
    case 'multi':
      return opts.map((o) => el('label', { class: 'check' }, el('input', { type: 'checkbox', value: o.id,
        checked: (answers[q.id] || []).includes(o.id), onchange: (ev) => {
          const cur = new Set(answers[q.id] || []);
          if (ev.target.checked) cur.add(o.id); else cur.delete(o.id);
          set(opts.map((x) => x.id).filter((x) => cur.has(x)));
        } }), o.label));
    case 'dropdown':
      return el('select', { 'aria-label': q.title, onchange: (ev) => set(ev.target.value) },
        el('option', { value: '' }, '请选择'), opts.map((o) => el('option', { value: o.id, selected: answers[q.id] === o.id }, o.label)));
    case 'text':
      return q.long ? el('textarea', { 'aria-label': q.title, oninput: (ev) => set(ev.target.value) }, answers[q.id] || '')
        : el('input', { type: 'text', 'aria-label': q.title, value: answers[q.id] || '', oninput: (ev) => set(ev.target.value) });
    case 'number':
      return el('input', { type: 'number', 'aria-label': q.title, value: answers[q.id] ?? '', min: q.min, max: q.max,
        oninput: (ev) => set(ev.target.value === '' ? undefined : Number(ev.target.value)) });
    case 'scale': {
      const lo = q.nps ? 0 : (q.min ?? 0); const hi = q.nps ? 10 : (q.max ?? 5);
      const points = [];
      for (let v = lo; v <= hi; v += 1) {
        points.push(el('label', { class: 'check' }, el('input', { type: 'radio', name, value: v,
          checked: answers[q.id] === v, onchange: () => set(v) }), String(v)));
      }
      return el('div', {}, q.min_label ? el('span', { class: 'muted' }, `${lo}=${q.min_label} `) : null,
        q.max_label ? el('span', { class: 'muted' }, `${hi}=${q.max_label}`) : null, el('div', {}, points));
    }
    case 'date':
      return el('input', { type: 'date', 'aria-label': q.title, value: answers[q.id] || '', min: q.min, max: q.max,
        oninput: (ev) => set(ev.target.value) });
    case 'matrix':
      return el('table', { class: 'data compact' }, el('tr', {}, el('th'), opts.map((o) => el('th', {}, o.label))),
        (q.rows || []).map((r) => el('tr', {}, el('th', {}, r.label),
          opts.map((o) => el('td', {}, el('input', { type: q.multiple ? 'checkbox' : 'radio', name: `${name}-${r.id}`,
            'aria-label': `${r.label}：${o.label}`, onchange: () => set(true) }))))));
    case 'ranking':
      return el('ol', {}, opts.map((o) => el('li', {}, o.label)));
    case 'region':
      return el('div', {}, el('select', { 'aria-label': '街道' }, el('option', {}, '请选择街道')),
        el('input', { type: 'text', 'aria-label': '社区', placeholder: '社区' }));
    default: return null;
  }
}

function buildPreview() {
  const parts = [el('h3', {}, body.title || '（未命名问卷）'),
    body.description ? el('p', { class: 'muted' }, body.description) : null,
    allQuestions().map((q) => el('div', { class: 'pq', 'data-pq': q.id },
      q.type === 'note' ? el('p', {}, q.title)
        : el('div', { class: 'pq-title' }, q.title || '（无标题）', q.required ? el('span', { class: 'req' }, ' *') : null),
      q.description ? el('div', { class: 'muted' }, q.description) : null,
      previewInput(q)))];
  preview.replaceChildren(...parts.flat().filter(Boolean));
  applyVisibility();
}

// ---- save -------------------------------------------------------------------------------

// Publishing saves first, so what is published is what is on the screen.
const publishForm = document.getElementById('publish')?.form;
if (publishForm) {
  publishForm.addEventListener('submit', async (ev) => {
    if (!dirty) return;
    ev.preventDefault();
    if (await save()) publishForm.submit();
  });
}

async function save() {
  const status = document.getElementById('save-status');
  const button = document.getElementById('save');
  button.disabled = true;
  status.textContent = '正在保存…';
  try {
    const res = await fetch(surveyId ? `/console/surveys/${surveyId}/draft` : '/console/surveys', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    const answer = await res.json().catch(() => ({}));
    if (res.ok) {
      dirty = false;
      if (!surveyId) { window.location.assign(`/console/surveys/${answer.id}`); return true; }
      dirty = false;
      status.replaceChildren(el('p', { class: 'ok', id: 'saved' }, `已保存（${new Date().toLocaleTimeString('zh-CN')}）`));
      return true;
    }
    status.replaceChildren(el('div', { class: 'alert', role: 'alert' }, answer.detail || '保存失败',
      el('ul', {}, (answer.errors || []).map((e) => el('li', {}, `${e.field}：${e.message}`)))));
  } catch (e) {
    status.replaceChildren(el('p', { class: 'alert', role: 'alert' }, '网络异常，未能保存，请重试'));
  } finally {
    button.disabled = false;
  }
  return false;
}

render();

// The local account page's behaviour (local/account-page.html): sign in as a demo user, start and follow
// an export, resend or cancel it, through the same API the deployed account page calls.
const USERS = JSON.parse(document.getElementById('demo-users').textContent);
const $ = (id) => document.getElementById(id);
let session = JSON.parse(sessionStorage.getItem('session') || 'null');
let current = null;
let polling = null;

/** The data map's categories, as [id, title]: one checkbox each, all ticked. */
const CATEGORIES = JSON.parse(document.getElementById('data-categories').textContent);

for (const user of USERS) $('users').append(new Option(user, user));
for (const [id, title] of CATEGORIES) {
  const label = document.createElement('label');
  const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'category', value: id, checked: true });
  box.dataset.testid = `category-${id}`;
  label.append(box, ` ${title}`);
  $('categories').append(label);
}

/** The export's choices as the API takes them: every category is the default, so it is sent only when narrowed. */
function choices() {
  const format = document.querySelector('input[name=format]:checked').value;
  const ticked = [...document.querySelectorAll('input[name=category]:checked')].map((box) => box.value);
  if (ticked.length === 0) throw new Error('Choose at least one kind of data to export.');
  const body = { format, ...(ticked.length < CATEGORIES.length ? { categories: ticked } : {}) };
  // Days, in UTC: "until" takes in the whole of its day.
  if ($('since').value) body.since = `${$('since').value}T00:00:00.000Z`;
  if ($('until').value) body.until = `${$('until').value}T23:59:59.999Z`;
  return body;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${session.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signOut();
    throw new Error('Your session ended; please sign in again.');
  }
  if (!response.ok) throw new Error(data.message || `The request failed (${response.status}).`);
  return data;
}

const size = (bytes) => (bytes == null ? '' : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

function show(job) {
  current = job;
  $('current').className = `status ${job.status}`;
  $('current-status').textContent = job.status;
  const total = job.progress.sourcesTotal || Object.keys(job.sources).length || 1;
  const done = job.status === 'READY' ? total : job.progress.sourcesDone;
  $('current-bar').style.width = `${Math.round((done / total) * 100)}%`;
  $('current-summary').textContent = `${done} of ${total} sources · ${job.progress.records} records`;
  $('current-sources').replaceChildren(
    ...Object.entries(job.sources).map(([id, s]) => {
      const li = document.createElement('li');
      li.textContent = `${id} (${s.records})`;
      if (s.done) li.className = 'done';
      return li;
    }),
  );
  const next = {
    QUEUED: job.queue
      ? `Waiting for a free place: ${job.queue.ahead === 0 ? 'you are next' : `${job.queue.ahead.toLocaleString('en-US')} ahead of you`}. Exports start in the order they were asked for; you can leave this page and cancel while you wait.`
      : 'Starting…',
    RUNNING: 'Collecting your data. You can leave this page: we will email you when it is ready.',
    READY: `Ready (${size(job.archiveBytes)}). We emailed a download link to ${session.email || 'your address'}; it works until ${when(job.linkExpiresAt)}.`,
    FAILED: job.failureMessage || 'This export failed.',
    CANCELLED: 'This export was cancelled.',
    EXPIRED: 'This export has expired.',
  }[job.status];
  $('current-next').textContent = next;
  $('resend').classList.toggle('hidden', job.status !== 'READY');
  $('cancel').classList.toggle('hidden', !['QUEUED', 'RUNNING'].includes(job.status));
}

// Refreshes may overlap (the export button's and the poller's); an older answer that arrives late
// must not paint over a newer one.
let refreshes = 0;
let painted = 0;
async function refresh() {
  const asked = ++refreshes;
  const { exports } = await api('GET', '/exports');
  if (asked < painted) return;
  painted = asked;
  $('history').replaceChildren(
    ...exports.map((job) => {
      const tr = document.createElement('tr');
      const status = job.status === 'QUEUED' && job.queue ? `QUEUED (waiting, ${job.queue.ahead} ahead)` : job.status;
      for (const text of [when(job.createdAt), status, size(job.archiveBytes), when(job.linkExpiresAt)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  if (!current && exports[0]) show(exports[0]);
}

function follow(exportId) {
  clearInterval(polling);
  polling = setInterval(async () => {
    try {
      const job = await api('GET', `/exports/${exportId}`);
      show(job);
      if (!['QUEUED', 'RUNNING'].includes(job.status)) {
        clearInterval(polling);
        await refresh();
      }
    } catch (error) {
      $('export-error').textContent = error.message;
      clearInterval(polling);
    }
  }, 700);
}

function enter() {
  $('sign-in').classList.add('hidden');
  $('account').classList.remove('hidden');
  $('who').textContent = `Signed in as ${session.userId}`;
  refresh().catch((error) => {
    $('export-error').textContent = error.message;
  });
}

function signOut() {
  sessionStorage.removeItem('session');
  session = null;
  current = null;
  clearInterval(polling);
  $('account').classList.add('hidden');
  $('sign-in').classList.remove('hidden');
  $('who').textContent = '';
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const response = await fetch('/local/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: $('user-id').value.trim() }),
  });
  const data = await response.json();
  if (!response.ok) {
    $('sign-in-error').textContent = data.message;
    return;
  }
  session = data;
  sessionStorage.setItem('session', JSON.stringify(data));
  enter();
});

$('export').addEventListener('click', async () => {
  $('export-error').textContent = '';
  $('export').disabled = true;
  try {
    const job = await api('POST', '/exports', choices());
    $('current').classList.remove('hidden');
    show(job);
    follow(job.exportId);
    await refresh();
  } catch (error) {
    $('export-error').textContent = error.message;
  } finally {
    $('export').disabled = false;
  }
});

$('resend').addEventListener('click', async () => {
  try {
    show(await api('POST', `/exports/${current.exportId}/resend`));
    $('current-next').textContent += ' A new link is on its way.';
  } catch (error) {
    $('export-error').textContent = error.message;
  }
});
$('cancel').addEventListener('click', async () => {
  try {
    show(await api('DELETE', `/exports/${current.exportId}`));
    await refresh();
  } catch (error) {
    $('export-error').textContent = error.message;
  }
});
$('sign-out').addEventListener('click', signOut);

if (session) enter();

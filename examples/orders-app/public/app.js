// The orders page. On a local Lakebase it asks the server for the headers the Databricks
// Apps proxy would add for the chosen user (GET /local/headers) and sends them with every
// request; deployed, the proxy adds them itself and the picker stays hidden.
const $ = (id) => document.getElementById(id);
let userHeaders = {};

// Errors go to the alert under the form, anything else to the status line; each replaces both.
function setStatus(text, isError = false) {
  $('status').textContent = isError ? '' : text;
  $('error').textContent = isError ? text : '';
  $('error').hidden = !isError;
}

// "My orders" is aria-busy while a user switch, a refresh or a new order is under way.
let pending = 0;
async function whileBusy(work) {
  pending += 1;
  $('my-orders').setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    pending -= 1;
    if (pending === 0) $('my-orders').setAttribute('aria-busy', 'false');
  }
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...userHeaders, ...init.headers } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok)
    throw new Error(`${res.status} ${body.error ?? ''}: ${body.message ?? res.statusText}`);
  return body;
}

function renderOrders(tbody, orders) {
  tbody.replaceChildren(
    ...orders.map((order) => {
      const tr = document.createElement('tr');
      tr.dataset.orderId = String(order.id);
      const cells = [
        order.id,
        order.item,
        order.quantity,
        order.owner,
        new Date(order.createdAt).toLocaleString(),
      ];
      for (const value of cells) {
        const td = document.createElement('td');
        td.textContent = String(value);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function refresh() {
  return whileBusy(async () => {
    try {
      const [me, mine, all] = await Promise.all([
        api('/api/whoami'),
        api('/api/my-orders'),
        api('/api/orders'),
      ]);
      $('whoami').textContent = `as ${me.user}`;
      renderOrders($('my-orders'), mine);
      renderOrders($('all-orders'), all);
      setStatus(`${mine.length} of ${all.length} orders are yours.`);
    } catch (error) {
      setStatus(error.message, true);
    }
  });
}

function selectUser(email) {
  return whileBusy(async () => {
    userHeaders = await api(`/local/headers?user=${encodeURIComponent(email)}`);
    await refresh();
  });
}

$('add-order').addEventListener('submit', (event) => {
  event.preventDefault();
  whileBusy(async () => {
    try {
      const order = await api('/api/my-orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: $('item').value, quantity: Number($('quantity').value) }),
      });
      $('item').value = '';
      await refresh();
      setStatus(`Added order #${order.id} (${order.item}) as ${order.owner}.`);
    } catch (error) {
      setStatus(error.message, true);
    }
  });
});

async function start() {
  const config = await api('/api/config');
  $('app-info').textContent = `(${config.app}, ${config.orm})`;
  if (config.local) {
    $('picker').hidden = false;
    const select = $('user');
    for (const email of config.users) select.append(new Option(email, email));
    select.addEventListener('change', () =>
      selectUser(select.value).catch((e) => setStatus(e.message, true)),
    );
    await selectUser(config.users[0]);
  } else {
    await refresh();
  }
}

whileBusy(start).catch((error) => setStatus(error.message, true));

// Drives Evident's web UI in Debian's headless Chromium and prints one JSON report on
// stdout, which crates/server/tests/browser.rs compares with what must have happened.
// Env: EVIDENT_URL, EVIDENT_PASSWORD, CHROMIUM, SCREENSHOTS, EVIDENT_DAY (the evidence
// package's period, YYYY-MM-DD), EVIDENT_DOWNLOADS (where the package is saved).
import { chromium } from 'playwright-core';

const base = process.env.EVIDENT_URL;
const password = process.env.EVIDENT_PASSWORD;
const shots = process.env.SCREENSHOTS;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const text = async (loc) => (await loc.textContent()).replace(/\s+/g, ' ').trim();
const texts = async (loc) => (await loc.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
const path = (page) => { const u = new URL(page.url()); return u.pathname + u.search; };
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const submit = async (page, button) => {
  await Promise.all([page.waitForLoadState('load'), page.waitForURL('**'), button.click()]);
};

async function signIn(role, next) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.fill('#username', `${role}1`);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  return { ctx, page };
}

async function who(page) {
  return {
    who: await text(page.locator('header .who > span')),
    nav: await texts(page.locator('header nav a')),
  };
}

const csrf = (page) => page.locator('header form.who input[name=csrf]').inputValue();

const report = { roles: {} };

// A stranger is sent to the login page, which then refuses a wrong password.
{
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/alerts`);
  report.stranger = { redirected_to: path(page) };
  await shot(page, '01-login');
  await page.fill('#username', 'analyst1');
  await page.fill('#password', 'not-the-password');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('main button[type=submit]'),
  ]);
  await page.waitForLoadState('load');
  report.bad_password = { status: resp.status(), error: await text(page.locator('#login-error')) };
  await ctx.close();
}

// Admin: the overview tells the month at a glance.
{
  const { ctx, page } = await signIn('admin');
  report.roles.admin = await who(page);
  const tiles = await texts(page.locator('.tiles li'));
  report.overview = { tiles: tiles.slice(0, 4), charts: await page.locator('main svg[role=img]').count() };
  await shot(page, '02-overview');
  for (const p of ['sources', 'controls']) {
    await page.goto(`${base}/${p}`);
    await shot(page, `03-${p}`);
  }
  await ctx.close();
}

// Analyst: lands where they were going, works the queue, closes a case through every
// stage and another as a false positive, and searches.
{
  const { ctx, page } = await signIn('analyst', '/alerts');
  report.overview.landed_on = path(page);
  report.roles.analyst = await who(page);
  const triage = {};
  triage.queue = await texts(page.locator('#queue tbody td:first-child a'));
  await shot(page, '04-alerts');
  await page.click('#queue a:has-text("#1 ")');
  triage.timeline = await texts(page.locator('#timeline .stage'));
  await page.selectOption('#disposition', 'true_positive');
  await submit(page, page.locator('button:has-text("Record verdict")'));
  for (let i = 0; i < 4; i++) await submit(page, page.locator('#advance'));
  await page.fill('#root_cause', 'An exposed SSH port on web1');
  await page.fill('#preventive_measures', 'SSH only through the bastion');
  await page.fill('#follow_ups', 'Close port 22 on web1\nAlert on new public ports');
  await submit(page, page.locator('button:has-text("Record post-mortem")'));
  await submit(page, page.locator('#advance'));
  triage.current_after_close = await text(page.locator('#timeline li.current .stage'));
  triage.actions_after_close = await page.locator('#actions').count();
  await shot(page, '05-case-closed');

  await page.goto(`${base}/cases/2`);
  await page.selectOption('#disposition', 'false_positive');
  await page.fill('#justification', 'DBA maintenance window, change CHG-42');
  await submit(page, page.locator('button:has-text("Record verdict")'));
  triage.false_positive_stage = await text(page.locator('#timeline li.current .stage'));
  triage.false_positive_justification = await text(page.locator('main p:has-text("Justification:")'));

  // Skipping a stage is refused by the case rules, not by the UI alone.
  await page.goto(`${base}/cases/3`);
  const skip = await page.request.post(`${base}/cases/3/advance`, {
    form: { to: 'containment', csrf: await csrf(page) },
  });
  triage.skip_refused = { status: skip.status() };

  await page.goto(`${base}/alerts`);
  triage.closed_cases = await texts(page.locator('section:has(#closed-h) tbody td:first-child a'));
  report.triage = triage;

  await page.goto(`${base}/search`);
  await page.fill('#q', 'failed source:app');
  await submit(page, page.locator('#search-form button'));
  const count = (await text(page.locator('#result-count'))).split(',')[0];
  const hits = await page.locator('#hits tbody tr').count();
  await page.fill('#q', 'zq-login | stats count by source');
  await submit(page, page.locator('#search-form button'));
  const stats = [];
  for (const row of await page.locator('#stats tbody tr').all()) {
    stats.push(await texts(row.locator('td')));
  }
  await shot(page, '06-search');
  report.search = { count, hits, stats };

  await submit(page, page.locator('header form.who button'));
  report.logout = { after: path(page) };
  await ctx.close();
}

// Reviewer: signs the due review off.
{
  const { ctx, page } = await signIn('reviewer');
  report.roles.reviewer = await who(page);
  await page.goto(`${base}/reviews`);
  const before = await text(page.locator('#reviews tbody tr').first().locator('.badge'));
  await page.click('#reviews tbody a');
  await page.fill('#findings', 'nothing unusual');
  await submit(page, page.locator('#sign button'));
  const signed = await texts(page.locator('#signoff p'));
  await shot(page, '07-review-signed');
  await page.goto(`${base}/reviews`);
  const after = await text(page.locator('#reviews tbody tr').first().locator('.badge'));
  report.review = {
    status_before: before,
    signed_by: signed[0].match(/^By \S+/)[0],
    status_after: after,
    findings: signed[1],
  };
  await ctx.close();
}

// Auditor: reads everything, changes nothing, checks the log's integrity.
{
  const { ctx, page } = await signIn('auditor');
  report.roles.auditor = await who(page);
  // Cases closed late no longer count as past their SLA.
  report.overview_after_closing = { tiles: (await texts(page.locator('.tiles li'))).slice(1, 4) };
  await page.goto(`${base}/cases/3`);
  const caseForms = await page.locator('main form').count();
  await shot(page, '08-auditor-case');
  const forced = await page.request.post(`${base}/cases/3/note`, {
    form: { text: 'auditor was here', csrf: await csrf(page) },
  });
  report.auditor = {
    case_forms: caseForms,
    forced_post: { status: forced.status(), code: (await forced.json()).error.code },
  };
  await page.goto(`${base}/integrity`);
  await submit(page, page.locator('main button:has-text("Verify")'));
  report.integrity = {
    verifier_key: (await page.locator('#verifier-key').textContent()).trim(),
    status: await text(page.locator('#verify-status .badge')),
  };
  await shot(page, '09-integrity');

  // Downloads the evidence package for the test's day, with a fixed seed.
  await page.goto(`${base}/evidence`);
  await page.fill('#from', process.env.EVIDENT_DAY);
  await page.fill('#to', process.env.EVIDENT_DAY);
  await page.fill('#seed', '7');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#evidence-form button[type=submit]'),
  ]);
  await download.saveAs(`${process.env.EVIDENT_DOWNLOADS}/${download.suggestedFilename()}`);
  await page.goto(`${base}/evidence`);
  const recent = await texts(page.locator('#recent-exports tbody tr').first().locator('td'));
  await shot(page, '10-evidence');
  report.evidence = { filename: download.suggestedFilename(), recent: [recent[1], recent[3]] };
  await ctx.close();
}

// Nobody else may build a package: an analyst is refused, a stranger sent to sign in.
{
  const { ctx, page } = await signIn('analyst');
  const day = process.env.EVIDENT_DAY;
  const refused = await page.request.post(`${base}/evidence`, {
    form: { from: day, to: day, csrf: await csrf(page) },
  });
  const analyst = { status: refused.status(), code: (await refused.json()).error.code };
  await ctx.close();
  const stranger = await browser.newContext();
  const anonymous = await stranger.request.post(`${base}/evidence`, {
    form: { from: day, to: day }, maxRedirects: 0,
  });
  report.evidence_refused = {
    analyst,
    stranger: { status: anonymous.status(), location: anonymous.headers().location },
  };
  await stranger.close();
}

await browser.close();
process.stdout.write(JSON.stringify(report));

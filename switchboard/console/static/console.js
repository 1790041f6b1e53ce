// Progressive enhancement only: every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copied");
  field.select();
  navigator.clipboard.writeText(field.value).then(
    () => { if (status) status.textContent = "Copied."; },
    () => { if (status) status.textContent = "Select the key and copy it."; },
  );
});

// Settings: END_USER_NAME previewed as one types, by the server's own renderer (the form's
// "Preview" button, posted in the background): one implementation of the template rules.
// (form.action would be the button named "action", hence getAttribute.)
document.querySelectorAll("form[data-live-preview]").forEach((form) => {
  const input = form.querySelector("input[name=template]");
  const preview = form.querySelector("#name-preview");
  let timer = null;
  let asked = 0; // answers can arrive out of order: only the latest question's answer is shown
  const refresh = async () => {
    const question = ++asked;
    const data = new FormData(form);
    data.set("action", "preview");
    const answer = await fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    if (question !== asked) return;
    const fresh = page.querySelector("#name-preview");
    const error = page.querySelector("#END_USER_NAME-error");
    if (fresh) preview.innerHTML = fresh.innerHTML;
    const shown = form.querySelector("#END_USER_NAME-error");
    if (shown) shown.remove();
    if (error) preview.before(error);
    input.setAttribute("aria-invalid", error ? "true" : "false");
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 250); };
  input.addEventListener("input", later);
  // Typed before this deferred script ran (a slow link, a quick hand): preview what is there now.
  if (input.value !== input.defaultValue) later();
});

// Live calls, a running lead import: fetch the page every few seconds and swap in its fresh region
// (the table says when it was updated), except while the operator is using it (focus or a press
// inside it, a form being sent) or the tab is hidden; a region that comes back without
// data-auto-refresh (the import ended) is the last. Without this script the page reloads itself
// (a <noscript> refresh).
document.querySelectorAll("[data-auto-refresh]").forEach((region) => {
  let pressing = false;
  let sending = false;
  region.addEventListener("pointerdown", () => { pressing = true; });
  document.addEventListener("pointerup", () => { pressing = false; });
  document.addEventListener("pointercancel", () => { pressing = false; });
  region.addEventListener("submit", () => { sending = true; });
  const busy = () => document.hidden || pressing || sending || region.contains(document.activeElement);
  const refresh = async () => {
    if (busy()) return;
    try {
      const answer = await fetch(location.href, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById(region.id);
      if (!fresh) throw new Error("no table in the answer");
      if (busy()) return; // the operator started using the table meanwhile
      region.replaceChildren(...fresh.childNodes); // spread into a list before any node moves
      if (!fresh.hasAttribute("data-auto-refresh")) {
        clearInterval(timer);
        document.title = page.title;
        const heading = document.querySelector("main h1");
        const freshHeading = page.querySelector("main h1");
        if (heading && freshHeading) heading.textContent = freshHeading.textContent;
      }
    } catch (error) {
      const updated = document.getElementById(region.dataset.status);
      if (updated) updated.textContent = "failed: reload the page (you may need to sign in again)";
    }
  };
  const timer = setInterval(refresh, Number(region.dataset.autoRefresh || 5) * 1000);
});

// Lead import (campaign page): the upload's progress (XMLHttpRequest), then the import's own page
// (the server redirects to it once the file is accepted), or the form again with why the file was
// refused, in place of this main content. Without this script the form posts normally.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-upload-progress]");
  const input = form && form.querySelector("input[type=file]");
  const file = input && input.files[0];
  if (!file) return; // not the import form, or the browser's own "required" message
  const box = form.querySelector(".upload-progress");
  const bar = box.querySelector("progress");
  const status = box.querySelector("[role=status]");
  const error = form.querySelector(".error");
  const button = form.querySelector("button[type=submit]");
  const megabytes = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
  const refuse = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  };
  event.preventDefault();
  const limit = Number(form.dataset.maxBytes);
  if (limit && file.size > limit) {
    refuse(`The file is ${megabytes(file.size)}, more than ${megabytes(limit)}: split it into smaller files.`);
    return;
  }
  error.hidden = true;
  box.hidden = false;
  button.disabled = true;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.max = progress.total;
    bar.value = progress.loaded;
    status.textContent = `Uploading: ${megabytes(progress.loaded)} of ${megabytes(progress.total)}`;
  });
  request.upload.addEventListener("load", () => {
    bar.removeAttribute("value");
    status.textContent = "Uploaded; reading the file…";
  });
  request.addEventListener("load", () => {
    if (request.responseURL && request.responseURL !== new URL(form.action, location.href).href) {
      location.assign(request.responseURL); // the import's page: its own address, safe to reload
      return;
    }
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    const main = page.querySelector("main");
    if (!main) {
      button.disabled = false;
      box.hidden = true;
      refuse(`The server answered ${request.status} without a page: reload and try again.`);
      return;
    }
    document.title = page.title;
    document.querySelector("main").replaceWith(document.adoptNode(main));
    const heading = document.querySelector("main .error:not([hidden])") || document.querySelector("main h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  });
  request.addEventListener("error", () => {
    box.hidden = true;
    button.disabled = false;
    refuse("The upload failed: check the connection and try again.");
  });
  request.send(new FormData(form));
});

// A refused form comes back as the whole page: bring its first problem into view, its input focused
// (a screen reader then reads the words, which the input's aria-describedby points to).
const firstInvalid = document.querySelector('[aria-invalid="true"]');
if (firstInvalid) firstInvalid.focus();

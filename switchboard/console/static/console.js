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

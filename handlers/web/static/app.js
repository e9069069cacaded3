// Progressive enhancement only: every page works without this script.
// 1. The standup form shows the repeat fields that apply, and hides the people field when
//    everyone in the channel takes part (a field with an error always stays visible).
// 2. Today's run on a standup's page refreshes itself while the run is open.
"use strict";

function toggleFields(form) {
  const repeat = form.querySelector("#repeat");
  const kind = repeat ? repeat.value : "";
  form.querySelectorAll("[data-repeat]").forEach(function (field) {
    const hasError = field.querySelector(".error") !== null;
    field.classList.toggle("hidden-by-script", field.dataset.repeat !== kind && !hasError);
  });
  const source = form.querySelector('input[name="participant_source"]:checked');
  const people = form.querySelector("#field-participants");
  if (people && source) {
    const hasError = people.querySelector(".error") !== null;
    people.classList.toggle("hidden-by-script", source.value === "channel" && !hasError);
  }
  const mode = form.querySelector('input[name="tz_mode"]:checked');
  const zone = form.querySelector("#field-tz");
  if (zone && mode) {
    const hasError = zone.querySelector(".error") !== null;
    zone.classList.toggle("hidden-by-script", mode.value !== "fixed" && !hasError);
  }
}

function refreshToday(section) {
  const seconds = parseInt(section.dataset.live, 10) || 60;
  window.setInterval(function () {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("today");
        if (fresh) { section.innerHTML = fresh.innerHTML; }
      })
      .catch(function () {});
  }, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("standup-form");
  if (form) {
    toggleFields(form);
    form.addEventListener("change", function () { toggleFields(form); });
  }
  const today = document.querySelector("#today[data-live]");
  if (today) { refreshToday(today); }
});

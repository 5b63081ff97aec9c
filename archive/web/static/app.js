// session archive: the page's only script (served from the package; the CSP allows nothing
// else). It loads a long session's turns as the reader scrolls and copies commands on click.
"use strict";

function loadMore(link) {
  if (link.dataset.loading) return;
  link.dataset.loading = "1";
  const before = link.dataset.more === "before";
  const anchor = before ? link.nextElementSibling : null;
  const top = anchor ? anchor.getBoundingClientRect().top : 0;
  fetch(link.dataset.fragment, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error(r.status); return r.text(); })
    .then((html) => {
      const tpl = document.createElement("template");
      tpl.innerHTML = html;  // server-rendered and escaped; no script runs under the CSP
      const fresh = Array.from(tpl.content.querySelectorAll("a.more"));
      link.replaceWith(tpl.content);
      if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - top);
      fresh.forEach(watch);
    })
    .catch(() => { delete link.dataset.loading; });
}

const observer = "IntersectionObserver" in window
  ? new IntersectionObserver((entries) => {
      entries.forEach((e) => {
        if (e.isIntersecting && e.target.dataset.more === "after") {
          observer.unobserve(e.target);
          loadMore(e.target);
        }
      });
    }, { rootMargin: "1200px 0px" })
  : null;

function watch(link) {
  link.addEventListener("click", (ev) => { ev.preventDefault(); loadMore(link); });
  if (observer && link.dataset.more === "after") observer.observe(link);
}

function copyOnClick(code) {
  code.title = "click to copy";
  code.addEventListener("click", () => {
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(code.textContent).then(() => {
      code.classList.add("copied");
      setTimeout(() => code.classList.remove("copied"), 800);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("a.more[data-fragment]").forEach(watch);
  document.querySelectorAll("code.copy").forEach(copyOnClick);
  document.documentElement.dataset.ready = "1";
});

// The upload page (templates/photos/upload.html): a drop zone and the picker add files to a
// batch, each shown as a tile (preview, name, size, a Remove button); Upload sends them.
// Without this script the page is a plain multi-file form.
//
// Each file goes in a request of its own to the form's data-upload-url (views/upload_row.py),
// a few at a time, rather than all in one body (or one body answered by a stream of events):
// so each file has its own progress, its own answer (201, or 413/415/422 with the server's
// reason) and can be retried alone; a file over a limit costs nobody else; no body is larger
// than one photo. The answer is the row the plain form lists (partials/upload_row.html): it
// takes the tile's place, so the markup has one source.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  var template = document.getElementById("upload-tile");
  if (!form || !template || !window.FormData || !("upload" in new XMLHttpRequest())) return;

  var PARALLEL = 3;     // requests at a time: enough to fill an uplink, not to queue at the server
  var RETRIES = 2;      // for a lost connection or a busy server (503)
  var input = form.querySelector("input[type=file]");
  var zone = document.getElementById("upload-dropzone");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var results = document.getElementById("upload-results");
  var endpoint = form.dataset.uploadUrl;
  var maxFiles = parseInt(form.dataset.maxFiles, 10);
  var maxBytes = parseInt(form.dataset.maxBytes, 10);

  var counter = 0;      // numbers the rows of the page, across batches
  var entries = {};     // by number: {tile, file, number, loaded, tries}
  var chosen = [];      // in the batch, not sent yet
  var waiting = [];     // sent off, waiting for a free slot
  var running = 0;      // requests in flight
  var pending = 0;      // retries waiting for their moment
  var sending = [];     // the files of the current send, for the overall bar

  form.classList.add("enhanced");
  input.required = false;  // the batch, not the input, holds the files now

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  function shortSize(bytes) {
    return bytes < 1048576 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : megabytes(bytes);
  }

  function say(text) { status.textContent = text; }

  function list() {
    var rows = results.querySelector("ul.upload-rows");
    if (!rows) {
      rows = document.createElement("ul");
      rows.className = "upload-rows";
      results.appendChild(rows);
    }
    return rows;
  }

  // "4 uploaded, 1 refused", as the plain form's answer says it.
  function summarise() {
    var done = results.querySelectorAll(".upload-row.accepted").length;
    var refused = results.querySelectorAll(".upload-row.rejected, .upload-tile[data-state=refused]").length;
    var heading = results.querySelector("h2");
    if (!heading) {
      heading = document.createElement("h2");
      results.insertBefore(heading, list());
    }
    heading.textContent = done + " uploaded" + (refused ? ", " + refused + " refused" : "");
  }

  function setState(entry, state, text) {
    entry.tile.dataset.state = state;
    entry.tile.querySelector(".upload-state").textContent = text;
    entry.tile.querySelector(".upload-remove").hidden = state !== "queued" && state !== "refused";
  }

  function refuse(entry, reason, message) {
    var tile = entry.tile;
    tile.dataset.reason = reason;
    setState(entry, "refused", message);
    tile.querySelector(".upload-state").className = "upload-state field-error";
    var progress = tile.querySelector("progress");
    if (progress) progress.remove();
  }

  function preview(tile, file) {
    if (!/^image\//.test(file.type)) return;  // HEIC and the like show no preview; the server decides
    var image = tile.querySelector(".upload-preview img");
    var address = URL.createObjectURL(file);
    image.decoding = "async";
    image.addEventListener("load", function () { image.hidden = false; URL.revokeObjectURL(address); });
    image.addEventListener("error", function () { URL.revokeObjectURL(address); });
    image.src = address;
  }

  function add(files) {
    var refused = 0;
    Array.prototype.forEach.call(files, function (file) {
      var tile = template.content.firstElementChild.cloneNode(true);
      var entry = { tile: tile, file: file, number: ++counter, loaded: 0, tries: 0 };
      entries[entry.number] = entry;
      tile.id = "upload-tile-" + entry.number;
      tile.dataset.number = entry.number;
      tile.querySelector(".upload-name").textContent = file.name;
      tile.querySelector(".upload-size").textContent = shortSize(file.size);
      tile.querySelector("progress").setAttribute("aria-label", "Sending " + file.name);
      tile.querySelector(".upload-remove").setAttribute("aria-label", "Remove " + file.name);
      preview(tile, file);
      list().appendChild(tile);
      // The limits the page states, checked here so that nothing is sent in vain (the server
      // checks again); in the server's words.
      if (file.size > maxBytes) {
        refused += 1;
        refuse(entry, "too-large", "This file is " + megabytes(file.size) + "; the limit is " +
          Math.floor(maxBytes / 1048576) + " MB per photo.");
      } else if (chosen.length >= maxFiles) {
        refused += 1;
        refuse(entry, "too-many-files", "Only " + maxFiles + " photos per upload; this one will not be sent.");
      } else {
        chosen.push(entry);
        setState(entry, "queued", "Ready to send");
      }
    });
    say(chosen.length + " photo" + (chosen.length === 1 ? "" : "s") + " ready to send" +
      (refused ? "; " + refused + " will not be sent" : "") + ".");
  }

  function remove(entry) {
    var at = chosen.indexOf(entry);
    if (at !== -1) chosen.splice(at, 1);
    delete entries[entry.number];
    // Focus goes to the next file's button (or the picker), not to the top of the page.
    var next = entry.tile.nextElementSibling || entry.tile.previousElementSibling;
    var button = next && next.querySelector(".upload-remove:not([hidden])");
    entry.tile.remove();
    (button || input).focus();
    say(entry.file.name + " removed; " + chosen.length + " ready to send.");
    if (results.querySelector("h2")) summarise();
  }

  // --- sending ----------------------------------------------------------------------------

  function showOverall() {
    var total = 0, loaded = 0;
    sending.forEach(function (entry) { total += entry.file.size; loaded += entry.loaded; });
    var percent = total ? Math.floor((loaded / total) * 100) : 100;
    bar.value = Math.max(bar.value, percent);  // answers come after the bytes: never backwards
    if (running || waiting.length || pending) {
      say(percent < 100 ? "Sending " + sending.length + " photo" + (sending.length === 1 ? "" : "s") + "… " +
        percent + "%" : "Processing…");
    }
  }

  function setProgress(entry, fraction) {
    var progress = entry.tile.querySelector("progress");
    entry.loaded = Math.min(1, fraction) * entry.file.size;
    if (progress) progress.value = Math.max(progress.value, Math.round(Math.min(1, fraction) * 100));
    showOverall();
  }

  function pump() {
    while (running < PARALLEL && waiting.length) send(waiting.shift());
  }

  function send(entry) {
    running += 1;
    entry.tries += 1;
    var data = new FormData();
    entry.fields.forEach(function (value, name) { data.append(name, value); });  // the token too
    data.append("photos", entry.file, entry.file.name);
    var request = new XMLHttpRequest();
    request.open("POST", endpoint + "?n=" + entry.number);
    request.setRequestHeader("HX-Request", "true");  // the answer is the row alone
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) setProgress(entry, event.loaded / event.total);
    });
    request.upload.addEventListener("load", function () {
      setProgress(entry, 1);
      setState(entry, "processing", "Processing…");
    });
    request.addEventListener("load", function () { answered(entry, request); });
    request.addEventListener("error", function () { answered(entry, request); });
    setState(entry, "sending", "Sending…");
    request.send(data);
  }

  function errorText(request, box) {
    var message = box.content.querySelector("[data-status] span");
    if (message) return message.textContent.trim();
    if (request.status === 0) return "The connection was lost; this photo was not saved.";
    if (request.getResponseHeader("HX-Redirect")) return "You are no longer logged in: log in again, then send this photo again.";
    if (request.responseURL && new URL(request.responseURL).pathname !== new URL(endpoint, location.href).pathname) {
      return "You are no longer logged in: log in again, then send this photo again.";
    }
    return "The site could not take this photo (error " + request.status + ").";
  }

  function answered(entry, request) {
    running -= 1;
    if ((request.status === 0 || request.status === 503) && entry.tries <= RETRIES) {
      var seconds = parseInt(request.getResponseHeader("Retry-After"), 10);
      pending += 1;
      entry.loaded = 0;
      setState(entry, "waiting", "Trying again…");
      setTimeout(function () {
        pending -= 1;
        waiting.unshift(entry);
        pump();
      }, 1000 * Math.min(seconds > 0 ? seconds : entry.tries, 5));
      pump();
      return;
    }
    var box = document.createElement("template");
    box.innerHTML = request.responseText || "";
    var row = box.content.querySelector("li.upload-row");
    entry.loaded = entry.file.size;
    if (row && request.status !== 0 && new URL(request.responseURL).pathname === new URL(endpoint, location.href).pathname) {
      entry.tile.replaceWith(row);
      if (window.htmx) window.htmx.process(row);  // its details form posts through htmx
      delete entries[entry.number];
    } else {
      refuse(entry, "failed", errorText(request, box));
    }
    summarise();
    showOverall();
    pump();
    if (!running && !waiting.length && !pending) finished();
  }

  function finished() {
    bar.value = 100;
    bar.hidden = true;
    sending = [];
    say("");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!chosen.length) {
      say("Choose at least one photo to upload.");
      input.focus();
      return;
    }
    // The shared fields (and the CSRF token) as they are now go with every file of this batch.
    var fields = new FormData(form);
    fields.delete("photos");
    if (!running && !waiting.length && !pending) {
      sending = [];
      bar.value = 0;
    }
    chosen.splice(0).forEach(function (entry) {
      entry.fields = fields;
      sending.push(entry);
      waiting.push(entry);
      setState(entry, "waiting", "Waiting…");
    });
    bar.hidden = false;
    if (results.querySelector("h2")) summarise();  // else once the first answer is in
    showOverall();
    pump();
  });

  input.addEventListener("change", function () {
    add(input.files);
    input.value = "";  // the batch holds them; choosing the same file again is a new choice
  });

  results.addEventListener("click", function (event) {
    var button = event.target.closest(".upload-remove");
    var tile = button && button.closest(".upload-tile");
    if (tile && entries[tile.dataset.number]) remove(entries[tile.dataset.number]);
  });

  // --- the drop zone --------------------------------------------------------------------------

  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
  }

  var depth = 0;  // dragenter/dragleave also fire for the zone's children
  zone.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragover");
  });
  zone.addEventListener("dragleave", function () {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dragover");
  });
  zone.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragover");
    add(event.dataTransfer.files);
  });
  // Anywhere on the page a file may be dragged over; dropped outside the zone it is ignored
  // (the browser would otherwise leave the page to show it).
  document.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = zone.contains(event.target) ? "copy" : "none";
  });
  document.addEventListener("drop", function (event) {
    if (carriesFiles(event) && !zone.contains(event.target)) event.preventDefault();
  });
})();

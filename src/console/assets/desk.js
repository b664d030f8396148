// Check-in desk: the code is typed, or read from the resident's QR with the camera where the
// browser offers BarcodeDetector (Chromium-based browsers); elsewhere the button stays hidden
// and typing works as before.

const form = document.getElementById('desk-form');
const input = document.getElementById('code');
const scan = document.getElementById('scan');
const video = document.getElementById('camera');

if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
  scan.hidden = false;
  scan.addEventListener('click', async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      scan.textContent = '无法打开摄像头，请手动输入签到码';
      return;
    }
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    video.hidden = false;
    video.srcObject = stream;
    await video.play();
    const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
    const tick = async () => {
      try {
        const found = await detector.detect(video);
        if (found.length > 0) {
          stop();
          input.value = found[0].rawValue;
          form.requestSubmit();
          return;
        }
      } catch { /* a frame that could not be read: try the next one */ }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

// After each check-in the field is ready for the next code.
input.value = '';
input.focus();

// The media both conformance fixtures put in image and audio content: the SDK v1 fixture
// (fixture-tools.ts, test/fixtures/conformance-server.ts) and the dual-era SDK v2 one
// (modern-fixture-server.ts). Small, and real media a client can decode.

// A 1x1 red PNG (chunk CRCs checked); small enough to sit in every image content block.
export const RED_PIXEL_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** A valid RIFF/WAVE file: 8 kHz, 16-bit mono, eight samples of silence. */
function silentWavBase64(): string {
  const sampleCount = 8;
  const dataBytes = sampleCount * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24); // sample rate
  wav.writeUInt32LE(8000 * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  return wav.toString('base64');
}

export const SILENT_WAV_BASE64 = silentWavBase64();

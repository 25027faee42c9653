// Developer check: runs parity.json through ONNX Runtime (Java) and compares with the PyTorch logits.
// The Python side has no onnxruntime; this closes the loop before the policy service's own test.
//
//   java -cp ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/<v>/onnxruntime-<v>.jar \
//        models/tiny-vla/tooling/OrtParity.java models/tiny-vla
//
// Exit status 0 when every logit is within model.json's parity tolerance. Self-contained (a tiny
// JSON reader below) so it needs nothing but the ORT jar.

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class OrtParity {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args.length > 0 ? args[0] : "models/tiny-vla");
    @SuppressWarnings("unchecked")
    Map<String, Object> model = (Map<String, Object>) new Json(Files.readString(dir.resolve("model.json"))).value();
    @SuppressWarnings("unchecked")
    Map<String, Object> parity = (Map<String, Object>) new Json(Files.readString(dir.resolve("parity.json"))).value();
    double tolerance = ((Number) ((Map<?, ?>) model.get("parity")).get("tolerance")).doubleValue();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double worst = 0;
    try (OrtSession prefill = env.createSession(dir.resolve("prefill.onnx").toString(), new OrtSession.SessionOptions());
         OrtSession decode = env.createSession(dir.resolve("decode.onnx").toString(), new OrtSession.SessionOptions())) {
      int caseNo = 0;
      for (Object c : (List<?>) parity.get("cases")) {
        Map<?, ?> cs = (Map<?, ?>) c;
        long[] shape = longs((List<?>) cs.get("image_shape"));
        int b = (int) shape[0];
        long[] ids = longs((List<?>) cs.get("instruction_ids"));
        float[] proprio = floats((List<?>) cs.get("proprio"));
        List<?> img = (List<?>) cs.get("image");
        ByteBuffer pixels = ByteBuffer.allocateDirect(img.size());
        for (Object v : img) {
          pixels.put((byte) ((Number) v).intValue());
        }
        pixels.flip();
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        in.put("image", OnnxTensor.createTensor(env, pixels, shape, ai.onnxruntime.OnnxJavaType.UINT8));
        in.put("instruction_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, ids.length / b}));
        in.put("proprio", OnnxTensor.createTensor(env, FloatBuffer.wrap(proprio), new long[] {b, proprio.length / b}));
        OrtSession.Result out = prefill.run(in);
        double err = maxDiff(((OnnxTensor) out.get(0)).getFloatBuffer(), floats((List<?>) cs.get("prefill_logits")));
        worst = Math.max(worst, err);
        System.out.printf("case %d (B=%d): prefill max |ort - torch| = %.2e%n", caseNo, b, err);
        // present.{l}.key|value of one run are the next run's past_key_values.{l}.key|value
        Map<String, OnnxTensor> kv = new LinkedHashMap<>();
        out.forEach(entry -> {
          if (entry.getKey().startsWith("present.")) {
            kv.put("past_key_values." + entry.getKey().substring("present.".length()), (OnnxTensor) entry.getValue());
          }
        });
        int step = 0;
        for (Object s : (List<?>) cs.get("decode_steps")) {
          Map<?, ?> st = (Map<?, ?>) s;
          long[] tok = longs((List<?>) st.get("token_ids"));
          long[] pos = longs((List<?>) st.get("position_ids"));
          float[] mask = floats((List<?>) st.get("attention_mask"));
          Map<String, OnnxTensor> d = new LinkedHashMap<>();
          d.put("token_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(tok), new long[] {b, 1}));
          d.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {b, 1}));
          d.putAll(kv);
          d.put("attention_mask", OnnxTensor.createTensor(env, FloatBuffer.wrap(mask), new long[] {b, mask.length / b}));
          OrtSession.Result r = decode.run(d);
          double e = maxDiff(((OnnxTensor) r.get(0)).getFloatBuffer(), floats((List<?>) st.get("logits")));
          worst = Math.max(worst, e);
          System.out.printf("case %d decode step %d: max |ort - torch| = %.2e%n", caseNo, step++, e);
          kv.clear();
          r.forEach(entry -> {
            if (entry.getKey().startsWith("present.")) {
              kv.put("past_key_values." + entry.getKey().substring("present.".length()), (OnnxTensor) entry.getValue());
            }
          });
        }
        caseNo++;
      }
    }
    System.out.printf("ONNX Runtime parity: worst %.2e, tolerance %.0e: %s%n", worst, tolerance, worst <= tolerance ? "OK" : "FAIL");
    System.exit(worst <= tolerance ? 0 : 1);
  }

  static double maxDiff(FloatBuffer got, float[] want) {
    if (got.remaining() != want.length) {
      throw new IllegalStateException("length " + got.remaining() + " != " + want.length);
    }
    double m = 0;
    for (int i = 0; i < want.length; i++) {
      m = Math.max(m, Math.abs(got.get(i) - want[i]));
    }
    return m;
  }

  static long[] longs(List<?> l) {
    long[] a = new long[l.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = ((Number) l.get(i)).longValue();
    }
    return a;
  }

  static float[] floats(List<?> l) {
    float[] a = new float[l.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = ((Number) l.get(i)).floatValue();
    }
    return a;
  }

  /** Minimal JSON reader: objects, arrays, strings, numbers, booleans, null. */
  static final class Json {
    private final String s;
    private int i;

    Json(String s) {
      this.s = s;
    }

    Object value() {
      ws();
      char c = s.charAt(i);
      if (c == '{') {
        i++;
        Map<String, Object> m = new LinkedHashMap<>();
        ws();
        if (s.charAt(i) == '}') {
          i++;
          return m;
        }
        while (true) {
          ws();
          String k = (String) value();
          ws();
          i++; // ':'
          m.put(k, value());
          ws();
          if (s.charAt(i++) == '}') {
            return m;
          }
        }
      }
      if (c == '[') {
        i++;
        List<Object> l = new ArrayList<>();
        ws();
        if (s.charAt(i) == ']') {
          i++;
          return l;
        }
        while (true) {
          l.add(value());
          ws();
          if (s.charAt(i++) == ']') {
            return l;
          }
        }
      }
      if (c == '"') {
        StringBuilder b = new StringBuilder();
        i++;
        while (s.charAt(i) != '"') {
          char ch = s.charAt(i++);
          if (ch == '\\') {
            char e = s.charAt(i++);
            switch (e) {
              case 'n' -> b.append('\n');
              case 't' -> b.append('\t');
              case 'u' -> {
                b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                i += 4;
              }
              default -> b.append(e);
            }
          } else {
            b.append(ch);
          }
        }
        i++;
        return b.toString();
      }
      if (s.startsWith("true", i)) {
        i += 4;
        return Boolean.TRUE;
      }
      if (s.startsWith("false", i)) {
        i += 5;
        return Boolean.FALSE;
      }
      if (s.startsWith("null", i)) {
        i += 4;
        return null;
      }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        i++;
      }
      return Double.parseDouble(s.substring(start, i));
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }
  }
}

// Hugging Face's hf-inference tasks, for the huggingface provider's completions and embeddings
// routes (its chat route is OpenAI's /v1/chat/completions, which the openai dialect serves):
//   POST .../hf-inference/models/gpt2   text-generation: {inputs, parameters, options} ->
//        [{"generated_text", "details": {finish_reason, generated_tokens}}]; with "stream": true,
//        SSE events {token: {text, special}, generated_text, details}, the last one with
//        generated_text set
//        https://huggingface.co/docs/inference-providers/tasks/text-generation
//   POST .../pipeline/feature-extraction  {inputs: string | [string]} -> [[float]] (or [float])
//        https://huggingface.co/docs/inference-providers/tasks/feature-extraction
// A text-generation path ends in the model name, so the fake serves text-generation for the
// model "gpt2" only. Errors are HF's {"error": "..."}.
// Credentials: "Authorization: Bearer <token>"; none, or one containing "wrong", gets HF's 401.
//
// Deterministic behaviour tests rely on:
//   - the generated text is "Hello from fake huggingface: <inputs>" (the prompt is prepended
//     when parameters.return_full_text is true);
//   - inputs containing "model loading" get 503 {"error": "Model gpt2 is currently loading",
//     "estimated_time": 20.0}, as the real API answers a cold model.
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

std::string hfErrorBody(int, const std::string& message) {
  return Json{{"error", message}}.dump();
}

Reply error(int status, Json body) {
  Reply r = jsonReply(body.dump());
  r.status = status;
  return r;
}

Reply textGeneration(const Call& call) {
  const Json inputs = call.body.value("inputs", Json());
  if (!inputs.is_string())
    return error(422, {{"error", "Input validation error: `inputs` must be a string"}});
  const std::string prompt = inputs.get<std::string>();
  if (prompt.find("model loading") != std::string::npos)
    return error(503, {{"error", "Model gpt2 is currently loading"}, {"estimated_time", 20.0}});
  const Json params = call.body.value("parameters", Json::object());
  const std::string answer = answerFor("huggingface", prompt);
  const std::string generated =
      params.is_object() && params.value("return_full_text", true) ? prompt + answer : answer;
  const auto pieces = streamPieces(answer);
  const Json details = {{"finish_reason", "eos_token"},
                        {"generated_tokens", static_cast<int>(pieces.size()) + 1}};
  if (!wantsStream(call.body, false))
    return jsonReply(Json::array({{{"generated_text", generated}, {"details", details}}}).dump());
  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  int index = 0;
  auto token = [&](const std::string& text, bool special) {
    return Json{{"id", ++index}, {"text", text}, {"logprob", -0.5}, {"special", special}};
  };
  for (const auto& piece : pieces)
    reply.events.push_back("data:" +
                           Json{{"index", index + 1},
                                {"token", token(piece, false)},
                                {"generated_text", nullptr},
                                {"details", nullptr}}
                               .dump() +
                           "\n\n");
  reply.events.push_back("data:" +
                         Json{{"index", index + 1},
                              {"token", token("</s>", true)},
                              {"generated_text", generated},
                              {"details", details}}
                             .dump() +
                         "\n\n");
  return reply;
}

Reply featureExtraction(const Call& call) {
  const Json inputs = call.body.value("inputs", Json());
  if (inputs.is_string()) return jsonReply(Json(fakeEmbedding(inputs.get<std::string>())).dump());
  if (!inputs.is_array() || inputs.empty())
    return error(400, {{"error", "Input validation error: `inputs` must be a string or a list"}});
  Json out = Json::array();
  for (const auto& s : inputs)
    out.push_back(fakeEmbedding(s.is_string() ? s.get<std::string>() : ""));
  return jsonReply(out.dump());
}

std::optional<AuthFailure> checkAuth(const Call& call) {
  return checkKey(bearerToken(call.header("authorization")),
                  "You must provide a valid token in the Authorization header",
                  "Invalid credentials in Authorization header");
}

}  // namespace

std::vector<Dialect> huggingfaceDialects() {
  return {
      {"huggingface", "POST", "/hf-inference/models/gpt2", textGeneration, hfErrorBody, nullptr,
       checkAuth},
      {"huggingface", "POST", "/hf-inference/models/{**}/pipeline/feature-extraction",
       featureExtraction, hfErrorBody, nullptr, checkAuth},
  };
}

}  // namespace aigw::fake

// The interactive part of `aigw quickstart`: a provider menu, then each value with its default.
#include <iostream>

#include "quickstart/catalog.hpp"
#include "quickstart/quickstart.hpp"

namespace aigw::quickstart {

namespace {

// One answer; end of input counts as Enter (the default), so a closed stdin never loops.
std::string ask(const std::string& question, bool hidden = false) {
  std::optional<std::string> line;
  if (hidden) {
    std::cout << std::flush;
    line = tty::readHiddenLine(question);
  } else {
    std::cout << question << std::flush;
    line = tty::readLine();
  }
  if (!line) std::cout << "\n";
  std::string answer = line.value_or("");
  while (!answer.empty() && answer.back() == ' ') answer.pop_back();
  while (!answer.empty() && answer.front() == ' ') answer.erase(0, 1);
  return answer;
}

std::string joinNumbers(const std::vector<std::size_t>& numbers) {
  std::string out;
  for (auto n : numbers) {
    if (!out.empty()) out += ',';
    out += std::to_string(n);
  }
  return out;
}

// Asks for each value of `spec`; false when the user skipped a required one.
bool askFields(const ProviderSpec& spec, const EnvLookup& known, Plan& plan, RouteChoice& route,
               const tty::Style& style) {
  for (const Field& f : spec.fields) {
    const std::string preset = known(f.env);
    std::string def = preset.empty() && !f.secret ? std::string(f.fallback) : preset;
    std::string question = "  " + std::string(f.label) + " (" + std::string(f.env) + ")";
    if (f.secret) question += ", typed without echo";
    if (!def.empty()) {
      question += "; Enter keeps " + (f.secret ? maskSecret(def) : def);
    } else {
      question += "; Enter skips " + std::string(spec.name);
    }
    std::string value = ask(question + ": ", f.secret);
    if (f.secret && !value.empty())
      std::cout << "    " << style.ok() << " received (" << value.size() << " characters)\n";
    if (value.empty()) value = def;
    if (value.empty()) {
      std::cout << "    " << style.warn() << " skipped " << spec.name << "\n";
      return false;
    }
    if (f.secret)
      plan.addSecret(std::string(f.env), value);
    else
      route.vars[std::string(f.var)] = value;
  }
  return true;
}

}  // namespace

Plan askPlan(const EnvLookup& known, const std::vector<std::string>& ollama_models,
             const std::string& ollama_url, const tty::Style& style) {
  struct Entry {
    std::string name;
    std::string label;
    std::string note;
    bool preselected;
  };
  std::vector<Entry> menu;
  for (const ProviderSpec* spec : keyedProviders()) {
    const std::string key = known(spec->fields.front().env);
    menu.push_back({std::string(spec->name), std::string(spec->label),
                    key.empty() ? "" : "key in " + std::string(spec->fields.front().env),
                    !key.empty()});
  }
  if (!ollama_models.empty()) {
    std::string note = std::to_string(ollama_models.size()) + " model(s) at " + ollama_url;
    menu.push_back({"ollama", "Ollama (local)", note, true});
  }
  std::vector<std::string> names;
  std::vector<std::size_t> defaults;
  std::cout << "\n" << style.bold("Providers") << "\n";
  for (std::size_t i = 0; i < menu.size(); ++i) {
    names.push_back(menu[i].name);
    if (menu[i].preselected) defaults.push_back(i + 1);
    char line[160];
    std::snprintf(line, sizeof line, "  %2zu  %-12s %-16s ", i + 1, menu[i].name.c_str(),
                  menu[i].label.c_str());
    std::cout << line << style.dim(menu[i].note) << "\n";
  }
  const std::string def = joinNumbers(defaults);
  std::vector<std::string> picked;
  while (true) {
    std::string answer = ask("Which providers? Numbers or names, comma-separated; Enter = " +
                             (def.empty() ? std::string("none (the demo model)") : def) + ": ");
    if (answer.empty()) answer = def;
    std::string error;
    picked = parseSelection(answer, names, error);
    if (error.empty()) break;
    std::cout << "  " << style.fail() << " " << error << "\n";
  }

  Plan plan;
  for (const auto& name : picked) {
    std::cout << style.bold(name) << "\n";
    if (name == "ollama") {
      for (std::size_t i = 0; i < ollama_models.size(); ++i)
        std::cout << "  " << i + 1 << "  " << ollama_models[i] << "\n";
      std::string model = ask("  Model (number or name); Enter = " + ollama_models.front() + ": ");
      if (model.empty()) model = ollama_models.front();
      if (!model.empty() && model.find_first_not_of("0123456789") == std::string::npos) {
        const std::size_t n = std::stoul(model.substr(0, 6));
        model = n >= 1 && n <= ollama_models.size() ? ollama_models[n - 1] : ollama_models.front();
      }
      plan.routes.push_back(ollamaRoute(model, ollama_url));
      continue;
    }
    const ProviderSpec* spec = findSpec(name);
    RouteChoice route{name, std::string(spec->default_model), {}};
    Plan scratch = plan;  // keys of a provider skipped half-way are not kept
    if (!askFields(*spec, known, scratch, route, style)) continue;
    if (route.vars.count("azure_deployment")) route.model = route.vars["azure_deployment"];
    std::string model = ask("  Model; Enter = " + route.model + ": ");
    if (!model.empty()) route.model = model;
    plan = std::move(scratch);
    plan.routes.push_back(std::move(route));
  }
  return plan;
}

}  // namespace aigw::quickstart

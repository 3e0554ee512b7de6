#include "client_connect.h"

namespace actormq::checker {

std::unique_ptr<client::consumer> connect_consumer(const client::consumer_config& cfg,
                                                   const std::string& topic,
                                                   const std::atomic<bool>& stopping, int attempts,
                                                   std::string& why) {
  for (int attempt = 0; (attempts == 0 || attempt < attempts) && !stopping; ++attempt) {
    auto made = client::consumer::create(cfg);
    if (!made) {
      why = made.err().to_string();
    } else if (auto st = (*made)->subscribe({topic}); !st) {
      why = "subscribe: " + st.err().to_string();
    } else {
      return std::move(*made);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return nullptr;
}

}  // namespace actormq::checker

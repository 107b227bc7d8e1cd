"""The store's chatbot: an offline retrieval-and-rules engine over our own data (products,
the caller's orders, delivery and payment options, store policies) in English and Bangla,
optionally phrased by a hosted model (`lib.chatbot.llm`), handing over to live chat when
asked for a person or when it fails to understand twice."""

print("tokenize-corpus")

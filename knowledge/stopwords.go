package knowledge

// functionWords are words that carry grammar rather than topic in customer
// questions: particles, pronouns, auxiliaries, generic question words and
// politeness. Their weight is scaled down (scoring.funcWeight) instead of
// being dropped, because "how long" and "how much" still differ, and a
// knowledge base of a few hundred questions gives them an idf that can be
// far too high ("what", "is" and "the" would otherwise make "what is the
// capital of France" look like a shop question). The list is ours, written
// for customer-care questions; it is in normalised form (Simplified, lower
// case) because it is matched against segmenter output.
var functionWords = toSet(
	// Chinese particles, pronouns, auxiliaries and filler.
	"的", "地", "得", "了", "着", "过", "吗", "么", "嘛", "呢", "吧", "啊", "呀", "哦", "噢", "喔",
	"哈", "啦", "呐", "哇", "咯", "嗯", "呗", "哎", "诶", "欸",
	"我", "我们", "你", "你们", "您", "他", "她", "它", "他们", "咱", "咱们", "自己", "人家",
	"这", "那", "这个", "那个", "这些", "那些", "这样", "那样", "这里", "那里", "这儿", "那儿",
	"是", "有", "在", "和", "与", "跟", "或", "或者", "还是", "就", "都", "也", "还", "又", "才",
	"很", "太", "挺", "比较", "非常", "特别", "真", "吧", "把", "被", "给", "让", "对", "向", "从",
	"想", "要", "想要", "需要", "能", "能不能", "可以", "可不可以", "可", "会", "会不会", "应该",
	"请", "请问", "问", "问一下", "一下", "麻烦", "帮", "帮忙", "帮我", "谢谢", "你好", "您好",
	"怎么", "怎么样", "怎样", "如何", "什么", "啥", "为什么", "为啥", "哪", "哪里", "哪儿", "哪个",
	"哪些", "吗", "是不是", "有没有", "没有", "不", "没", "个", "一个", "些", "一些", "下",
	// English.
	"a", "an", "the", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "u", "ur",
	"he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those",
	"is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "doing",
	"have", "has", "had", "having", "can", "could", "will", "would", "shall", "should",
	"may", "might", "must", "to", "of", "in", "on", "at", "for", "from", "with", "by",
	"about", "into", "as", "and", "or", "but", "if", "so", "than", "then", "there", "here",
	"what", "whats", "which", "who", "whom", "whose", "where", "when", "why", "how",
	"any", "some", "all", "no", "not", "dont", "don", "t", "s", "m", "re", "ve", "ll", "d",
	"please", "pls", "plz", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "just",
	"get", "got", "want", "wanna", "need", "know", "tell", "like", "still", "also", "too",
	"very", "really", "one", "im", "ive", "cant", "doesnt", "didnt", "isnt",
	"something", "anything", "someone", "anyone", "else", "yet", "been",
)

func toSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

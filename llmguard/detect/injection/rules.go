package injection

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/normalize"
)

// Keyword classes. Keywords are matched on squeezed text (letters and digits only, after
// folding), so "I-g-n-o-r-e", "1gn0re" and "іgnоrе" all read "ignore"; German umlauts are
// folded (ü → u, ß → s).
var classes = map[string][]string{
	"ignore": {"ignore", "disregard", "forget", "overlook", "bypass", "override", "dismiss", "neglect",
		"setaside", "leavebehind", "throwout", "abandon", "dropall", "dropyour", "skipall", "skipyour",
		"ignorier", "vergiss", "vergesse", "vergessen", "missacht", "uberspring", "verwirf", "streichen",
		"lassensiealle", "abweichendzu", "abweichendvon", "olvida", "olvide", "ignora", "oubliez", "oublie", "ignorez", "zaboravi"},
	"previous": {"previous", "prior", "above", "earlier", "preceding", "instruction", "allrules", "yourrules",
		"guideline", "directive", "yourprogramming", "everything", "whatwassaid", "context", "document",
		"article", "assignment", "task", "allyour", "beforehand", "vorherig", "bisherig", "obige",
		"vorangegangen", "vorangehend", "allesdavor", "allesvorher", "allesbisher", "allesgesagt", "allesobige", "allesoben", "anweisung",
		"instruktion", "aufgabe", "auftrag", "befehl", "regeln", "zuvor", "instrucciones", "todo",
		"instructions", "toutes", "sve"},
	"reveal": {"show", "print", "reveal", "output", "repeat", "display", "tellme", "spell", "leak", "dump",
		"zeige", "zeig", "gibaus", "ausgeben", "wiederhol", "verrat", "nenne"},
	"prompt": {"systemprompt", "yourprompt", "prompttext", "initialprompt", "yourinstructions",
		"yourinitial", "originalinstructions", "hiddeninstructions", "secretinstructions", "thisprompt",
		"promptabove", "fullprompt", "deinprompt", "deineanweisungen", "deineninstruktionen",
		"deinenprompt", "ihrprompt", "ihreanweisungen", "systemnachricht", "systemmessage"},
	"leakq": {"writtenabove", "wasabove", "beginningofthisprompt", "startofthisprompt",
		"whatareyourinstructions", "wassindeineanweisungen", "obenstehend", "obengeschrieben"},
	"newtask": {"newtask", "newinstruction", "newassignment", "newchallenge", "furthertask", "nowfocus",
		"nowconcentrate", "neueaufgabe", "neueanweisung", "neueinstruktion", "nunfolgen", "weitereaufgaben",
		"konzentrieredich", "startover", "vonvorne", "vonneu"},
	"jailbreak": {"jailbreak", "jailbroken", "danmode", "doanythingnow", "developermode", "devmode",
		"stayincharacter", "nofilter", "unfiltered", "uncensored", "amoral", "noethical", "nomoral",
		"norestriction", "withoutrestriction", "unrestricted", "nolimitation", "nolimits", "ignoreopenai",
		"contentpolic", "openaipolic", "brokenfree", "freeofall", "freedfrom", "evilconfidant", "antigpt",
		"machiavellian", "notboundby", "nolongerbound", "neverrefuse", "mustnotrefuse", "cannotrefuse",
		"dontrefuse", "willnotrefuse", "anythingnow", "withoutanycensor", "ohnezensur", "keinefilter",
		"keineeinschrankung", "ethicalguideline", "moralguideline", "safetyguideline"},
	"persona": {"youarenow", "nowyouare", "fromnowon", "pretendyouare", "pretendtobe", "actas", "roleplay",
		"imagineyouare", "dubistjetzt", "dubistnun", "jetztbistdu", "nunbistdu", "abjetzt", "stelldirvor",
		"tudirso", "spieldierolle", "youwillnowact", "youaregoingtoact", "simulate", "asanai",
		"asalanguagemodel", "respondas", "answeras", "antworteals", "imstile", "inthestyleof"},
	"marker": {"imstartsystem", "imstartuser", "imstartassistant", "imendimstart", "endoftext", "systemoverride", "adminoverride", "debugmode",
		"sudomode", "godmode"},
	"say": {"say", "sag", "sagen", "print", "write", "schreib", "output", "answerwith", "respondwith",
		"antwortemit", "gibnur"},

	// Classes below carry no rule of their own: they are text-level model features (see
	// ruleFeatures), so their weight is learned in context and shared across languages.
	"override": {"abweichend", "entgegen", "auseracht", "nichtbeachten", "nichtberucksichtig",
		"hintersich", "ausdemkopf", "despitewhat", "regardlessof", "unabhangigvon", "insteadof",
		"instead", "stattdessen", "anstatt", "anstelle", "ratherthan", "changeyourinstructions",
		"yourinstructionsarenow", "removeall", "erasethe", "deleteall", "enlugarde", "aulieude",
		"nichtandie", "nottoremember", "donotanswer", "dontanswer", "nichtbeantworten",
		"beantwortenicht", "donotlook", "nichtnach"},
	"allprior": {"allesgesagt", "allesobige", "allesoben", "allesbisherige", "allevorherigen",
		"allebisherigen", "allprevious", "allprior", "allthe", "everythingabove", "everythingbefore",
		"everythingyou", "allyourinstructions", "allinstructions", "alleanweisungen", "alleinstruktionen",
		"alleaufgaben", "alleauftrage", "allassignments", "alltasks", "allorders", "allebefehle",
		"todaslas", "toutesles", "vseinstrukc", "sveinstrukcije"},
	"praise": {"welldone", "verywell", "verygood", "excellent", "greatjob", "goodjob", "gutgemacht",
		"sehrgut", "ausgezeichnet", "hervorragend", "fantastic", "fantastisch", "wow", "congratulat",
		"gluckwunsch", "thatisenough", "thatsenough", "dasgenugt", "dasreicht", "thatisdone",
		"erledigt", "outdoneyourself", "ubertroffen", "simplygreat", "einfachgrosartig", "superge"},
	"nowdo": {"nowwrite", "nowtell", "nowsay", "nowanswer", "nowshow", "nowprint", "nowgenerate",
		"nowplease", "nowcomeon", "butnow", "andnow", "nowyou", "nownew", "nowfurther", "nowfollow",
		"nunfolg", "jetztfolg", "schreibenun", "verfassenun", "schreibnun", "nunschreib",
		"jetztschreib", "schreibjetzt", "aberjetzt", "jetztkomm", "nunbitte", "jetztbitte",
		"furtheraufgabe", "weitereaufgabe", "anothertask", "afewmoretasks", "paaraufgaben"},
	"stop":   {"stop", "stopp", "achtung", "attention", "warte", "alarm", "cancel", "abbrechen", "abbruch"},
	"urgent": {"important", "wichtig", "urgent", "dringend", "immediately", "sofort", "mustdo", "musst"},
	"sayforce": {"statethat", "sayyes", "sayno", "includethat", "justsay", "justoutput", "onlysay",
		"onlyoutput", "repeatafterme", "sprichmirnach", "sagmir", "sagdass", "behaupte", "schreibnur",
		"gibnuraus", "nurausgeben", "dites", "diloquesigue", "decir", "ditesce", "sagensie"},
	"contextref": {"thearticles", "thedocuments", "provideddocuments", "documentsprovided",
		"providedcontext", "contextprovided", "derartikel", "denartikeln", "dokumente", "kontext",
		"context", "documents", "articles", "artikel", "information", "informationen", "angaben"},
	"toxic": {"ihate", "youhate", "hates", "hasse", "hateall", "hassen", "disgusting", "racist",
		"rassist", "insult", "crazy", "verruckt", "asshole", "arschloch", "slut", "bitch", "schlampe",
		"stirb", "hatespeech", "swear", "schimpf", "beleidig", "offensive",
		"fuck", "scheis", "beschissen", "idiot", "doof", "stupid", "pwned", "dumm"},
	"threat": {"ordudie", "oderdustirbst", "youwilldie", "icommand", "ichbefehle",
		"urgently", "dringend", "tumuertes", "muerto"},
	"pretend": {"pretend", "imagine", "stelldirvor", "tudirso", "tuso", "asif", "alsob", "suppose",
		"hypothetical", "theoretical", "theoretisch", "fiktiv", "fictional", "alternate",
		"whatif", "wasware", "makesomethingup", "erfinde"},
	"youare": {"youare", "youre", "dubist", "siesind", "nowyouare", "duspielst", "youplay",
		"yourrole", "deinerrolle", "ihrerrolle", "inyourrole", "absorbed", "aufgeh", "bleib",
		"stay", "schauspieler", "character", "derfigur", "diefigur", "playtherole", "dierolle", "therole"},
	"leakhint": {"sentencesbefore", "textbefore", "wordsbefore", "linesbefore", "whatwaswritten",
		"whatiswrittenabove", "writtenbefore", "saidbefore", "beginningofyour", "beginningofthisconversation",
		"previoustext", "textabove", "wasstehtoben", "wasstandoben", "wasstehtdavor", "wasstanddavor",
		"wasstehtam", "vorherigentext", "obigentext", "yourinstructions", "deineanweisungen",
		"deineinstruktionen", "ihreanweisungen", "yoursystem", "deinsystem", "initialinstruction",
		"yourfirstinstruction", "yourrules", "deineregeln", "yourguidelines", "tellmeyourprompt"},
	"deceive": {"untrue", "unwahr", "fakenews", "falschmeldung", "falschinformation", "misinformation",
		"desinformation", "disinformation", "propaganda", "misleading", "irrefuhrend", "madeup",
		"makesomethingup", "makeitup", "erfundene", "erfinde", "falschesagen",
		"liesabout", "lugenuber", "conspiracy", "verschworung"},
	"hijack": {"pwned", "pwnd", "haha", "trololo"},
	"forcereply": {"saythat", "sayyouhate", "tellmethatyou", "writethatyou", "answeronlywith",
		"replyonlywith", "respondonlywith", "onlyanswerwith", "onlyreplywith", "onlyrespond",
		"onlyreply", "antwortenur", "antwortnur", "antwortemitja", "simplyreply", "justreply",
		"justanswer", "justrespond", "justwrite", "justprint", "nurschreiben", "schreibenur",
		"saysomething", "sagwas", "sagetwas", "sageinfach", "sagnur", "sagenur", "schreibnur",
		"printthefollowing", "writethefollowing", "saythefollowing", "gibfolgendes", "sagefolgendes",
		"followedby", "gefolgtvon", "everytimeyou", "jedesmal", "yourresponsemust", "youranswermust",
		"deineantwortmuss", "startyourresponse", "beginyouranswer", "beginneantwort"},
	"ignoresource": {"notbythearticle", "notbasedon", "notaccordingto", "notfromthe", "notusethe",
		"withoutthearticle", "withoutusing", "ownknowledge", "eigenenwissen", "eigeneswissen",
		"ohnedieartikel", "ohnedendokument", "nichtaufgrund", "nichtausdem", "regardlessof",
		"disregarding", "ignoringthe"},
	"addressai": {"asanai", "asalanguagemodel", "asanassistant", "asachatbot", "alseineki",
		"alssprachmodell", "alschatbot", "languagemodel", "sprachmodell", "chatgpt", "gpt", "openai",
		"yourtraining", "youweretrained", "yourcreator", "yourdeveloper"},
	"actas": {"actas", "fungier", "agier", "verhaltedich", "behaveas", "behavelike", "iwantyouto",
		"ichmochtedass", "ichmochtedass", "transforminto", "become",
		"personify", "interpreter", "terminal"},
}

// ruleWeights turn keyword evidence into a rule score. Pair rules need the second class
// to follow the first within window squeezed bytes (roughly one short sentence).
type pairRule struct {
	name          string
	first, second string
	window        int32
	weight        float64
}

var pairRules = []pairRule{
	{"ignore_previous", "ignore", "previous", 32, 0.75},
	{"reveal_prompt", "reveal", "prompt", 40, 0.75},
	{"ignore_then_say", "ignore", "say", 80, 0.35},
	{"newtask_after_praise", "newtask", "newtask", 120, 0.3},
	// "die obigen Anweisungen ignorieren": German puts the verb last.
	{"previous_then_ignore", "previous", "ignore", 16, 0.4},
}

var singleRules = map[string]struct {
	name   string
	weight float64
}{
	"leakq":     {"prompt_leak_question", 0.6},
	"jailbreak": {"jailbreak_vocabulary", 0.45},
	"marker":    {"chat_template_marker", 0.5},
	"newtask":   {"new_task", 0},
	"persona":   {"persona_switch", 0},
}

// rot13Prefix marks the class of keywords added in ROT13 form: one automaton pass finds
// plain and ROT13-hidden keywords at once, and the two are scored separately.
const rot13Prefix = "rot13:"

var kwMatcher = func() *matcher {
	// ROT13 hits count through the rules only, so only ruled classes get ROT13 forms
	// (which keeps the automaton, and its cache footprint, small).
	ruled := map[string]bool{}
	for _, pr := range pairRules {
		ruled[pr.first], ruled[pr.second] = true, true
	}
	for cl := range singleRules {
		ruled[cl] = true
	}
	var kws []keyword
	for cl, words := range classes {
		for _, w := range words {
			kws = append(kws, keyword{w, cl})
			if ruled[cl] {
				kws = append(kws, keyword{normalize.Rot13(w), rot13Prefix + cl})
			}
		}
	}
	// Map iteration order is random; sort for a deterministic automaton.
	sortKeywords(kws)
	return newMatcher(kws)
}()

func sortKeywords(k []keyword) {
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && (k[j].class+"/"+k[j].text) < (k[j-1].class+"/"+k[j-1].text); j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
}

// kwInfo is what the hot paths need to know about one keyword id.
type kwInfo struct {
	class int8  // index into classNames (ROT13 keywords: the class they hide)
	rot   bool  // a ROT13 form
	ruled bool  // its class takes part in a rule (else it is a model feature only)
	n     int32 // length
}

// compiled rules: classes as indices into classNames, rules numbered (pairs first).
type compiledPair struct {
	first, second int8
	window        int32
	weight        float64
	id            int
}

var (
	kwInfos       []kwInfo
	compiledPairs []compiledPair
	singleByClass []int // rule id of the class's single rule, or -1
	ruleNames     []string
	ruleWeights   []float64
)

// initRules compiles the rules; called from the package init once classNames exist.
func initRules() {
	idx := map[string]int8{}
	for i, cl := range classNames {
		idx[cl] = int8(i)
	}
	used := map[string]bool{}
	for _, pr := range pairRules {
		used[pr.first], used[pr.second] = true, true
		compiledPairs = append(compiledPairs, compiledPair{idx[pr.first], idx[pr.second], pr.window, pr.weight, len(ruleNames)})
		ruleNames = append(ruleNames, pr.name)
		ruleWeights = append(ruleWeights, pr.weight)
	}
	singleByClass = make([]int, len(classNames))
	for i, cl := range classNames {
		singleByClass[i] = -1
		if sr, ok := singleRules[cl]; ok {
			used[cl] = true
			singleByClass[i] = len(ruleNames)
			ruleNames = append(ruleNames, sr.name)
			ruleWeights = append(ruleWeights, sr.weight)
		}
	}
	for _, k := range kwMatcher.kw {
		base := strings.TrimPrefix(k.class, rot13Prefix)
		kwInfos = append(kwInfos, kwInfo{idx[base], base != k.class, used[base], int32(len(k.text))})
	}
}

// ruleResult is the outcome of the keyword rules on one text.
type ruleResult struct {
	score      float64
	names      []string
	start, end int32 // squeezed span of the strongest evidence
}

const maxHits = 4096

// splitHits separates plain from ROT13 keyword hits (in place for the plain ones).
func splitHits(hits []hit) (plain, rot []hit) {
	plain = hits[:0:0]
	for _, h := range hits {
		if kwInfos[h.id].rot {
			rot = append(rot, h)
		} else {
			plain = append(plain, h)
		}
	}
	return plain, rot
}

// evalRules combines keyword hits: each pair or single rule contributes once (the
// strongest instance), and contributions combine as a noisy-or. Linear in the number
// of hits, without allocation unless a rule fires.
func evalRules(hits []hit) ruleResult {
	var r ruleResult
	notFired := 1.0
	best := 0.0
	var fired uint64
	fire := func(id int, s, e int32) {
		if fired&(1<<id) != 0 {
			return
		}
		fired |= 1 << id
		r.names = append(r.names, ruleNames[id])
		w := ruleWeights[id]
		notFired *= 1 - w
		if w > best {
			best, r.start, r.end = w, s, e
		}
	}
	// Pair rules: remember the last end of each first-class hit and test second-class
	// hits against it.
	var lastEnd, lastStart [64]int32
	var seen uint64
	for _, h := range hits {
		k := kwInfos[h.id]
		if !k.ruled {
			continue // feature-only class
		}
		start := h.end - k.n
		for i := range compiledPairs {
			pr := &compiledPairs[i]
			if pr.second != k.class || seen&(1<<pr.first) == 0 {
				continue
			}
			if e := lastEnd[pr.first]; start >= e && start-e <= pr.window {
				fire(pr.id, lastStart[pr.first], h.end)
			}
		}
		if id := singleByClass[k.class]; id >= 0 {
			fire(id, start, h.end)
		}
		lastEnd[k.class] = h.end
		lastStart[k.class] = start
		seen |= 1 << k.class
	}
	r.score = 1 - notFired
	return r
}

func joinNames(n []string) string { return strings.Join(n, "+") }
